"""Map projections and scales of the sheets (never plate carrée lon/lat).

- The province sheet uses the project's ``METRIC_CRS`` (Lambert conformal conic, standard parallels
  22.5/27.5 N, centre 101.5 E), as do the locator insets and the atlas cover.
- A prefecture or county sheet uses a Transverse Mercator centred on the area (scale factor 1 on its central
  meridian), so north is up at the map centre and the scale error is negligible.

The scale bar is drawn in ground kilometres: its length on the map is corrected by the projection's point
scale factor at the map centre (``pyproj.Proj.get_factors``). The north arrow points to true north at the map
centre (the direction of the projected meridian).
"""

from __future__ import annotations

import math

NICE_SCALES = (1.0, 1.2, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 7.5, 8.0, 9.0)


def nice_scale(denominator: float) -> int:
    """The smallest 'round' scale denominator >= ``denominator`` (1:250 000, 1:300 000, 1:400 000 ...)."""
    exp = math.floor(math.log10(denominator))
    for step in NICE_SCALES + (10.0,):
        candidate = step * 10**exp
        if candidate >= denominator * 0.999:
            return int(round(candidate))
    return int(10 ** (exp + 1))  # pragma: no cover


def nice_length_km(max_km: float) -> float:
    """The longest 1/2/2.5/5 x 10^n km not exceeding ``max_km``."""
    exp = math.floor(math.log10(max_km))
    best = 10**exp
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * 10**exp <= max_km:
            best = step * 10**exp
    return best


def area_crs(geom_wgs84, level: str, metric_crs):
    """The projection for an area: METRIC_CRS for the province, a centred Transverse Mercator otherwise."""
    from pyproj import CRS

    if level == "province":
        return CRS.from_user_input(metric_crs)
    c = geom_wgs84.centroid
    lon0 = round(c.x, 3)
    lat0 = round(c.y, 3)
    return CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )


def point_scale_factor(crs, lon: float, lat: float) -> float:
    """The projection's point scale factor (map distance / ground distance) at (lon, lat)."""
    from pyproj import Proj

    factors = Proj(crs).get_factors(lon, lat)
    return float(factors.meridional_scale)


def north_angle(crs, lon: float, lat: float) -> float:
    """Angle (degrees, counter-clockwise from map 'up') of true north at (lon, lat) in ``crs``."""
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0 = t.transform(lon, lat)
    x1, y1 = t.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(-(x1 - x0), y1 - y0))


def central_meridian(crs) -> float:
    """The central meridian (degrees east) of a projected CRS, NaN when it has none."""
    op = getattr(crs, "coordinate_operation", None)
    for param in getattr(op, "params", []) or []:
        if "longitude" in param.name.lower() and ("origin" in param.name.lower() or "central" in param.name.lower()):
            return float(param.value)
    return float("nan")


def to_lonlat(crs, x, y) -> tuple[float, float]:
    """The WGS-84 (lon, lat) in degrees of the projected point (x, y) of ``crs``."""
    from pyproj import Transformer

    t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(x, y)
    return float(lon), float(lat)
