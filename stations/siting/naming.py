"""Place names for recommended and hypothetical sites: the county and the nearest named place.

A planner reads "五华区 · 区政府驻地东北 1.2 公里" faster than "102.7183, 25.0389". :func:`place_names` names
each WGS-84 point by

* its **county** (``county_adcode`` when given, else :func:`stations.geo.locate_counties`), the official
  Chinese and English names of ``data/geo/counties.geojson``;
* the nearest **anchor**: a GeoNames populated place of the gazetteer (:func:`stations.geo.load_places`,
  386 towns) or a county seat (:func:`stations.demand.county_seats`: the government's seat, so the urban
  districts, where GeoNames has few places, still get a precise handle), by geodesic distance (ECEF chords
  of :mod:`stations.proximity`, exact beyond 20 km) and the compass direction from the anchor (forward
  azimuth on the WGS-84 ellipsoid, ``pyproj.Geod``, eight points).

Forms (Chinese, English):

* within :data:`NEAR_M` of the anchor: ``五华区 · 昆明附近`` / ``Wuhua District · near Kunming``;
* within :data:`FAR_M`: ``西山区 · 马街西南 3.4 公里`` / ``Xishan District · 3.4 km SW of Majie``;
* farther, or no anchor: the county alone (``云南省`` / ``Yunnan`` outside every county).

GeoNames gives no Chinese name for 64 of its 386 places; those are written in their GeoNames (pinyin)
spelling in both languages, as the gazetteer has them. The subdistricts of a city (街道) are not in any
source the project carries, so a site in a city centre is named by the district seat or the nearest
GeoNames place rather than by its 街道.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Geod

from .. import geo
from ..proximity import nearest_station

__all__ = ["NEAR_M", "FAR_M", "place_names"]

NEAR_M = 1500.0  # "附近 / near" up to this distance from the anchor
FAR_M = 30_000.0  # beyond: the county alone

_GEOD = Geod(ellps="WGS84")
_DIR_ZH = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")
_DIR_EN = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def _seat_words(county_zh: str, county_en: str, own: bool) -> tuple[str, str]:
    """How a county seat is called from a site: in its own county '区政府驻地' / 'the district seat' (县:
    county, 市: city), else with the county's name: '盘龙区政府驻地' / 'the Panlong District seat'."""
    kind_zh, kind_en = ("区", "district") if county_zh.endswith("区") else ("市", "city") if county_zh.endswith("市") \
        else ("县", "county")
    if own:
        return f"{kind_zh}政府驻地", f"the {kind_en} seat"
    return f"{county_zh}政府驻地", f"the {county_en} seat"


def _anchors(g) -> pd.DataFrame:
    """Every anchor of a geography: ``lon``, ``lat``, ``zh``, ``en`` (names of GeoNames places) and
    ``seat_of`` (the county adcode of a county seat, '' for a place)."""

    def build():
        from ..demand import county_seats

        places = g.optional("places")
        parts = []
        if places is not None and len(places):
            zh = places["name_zh"].fillna("").astype(str).to_numpy()
            en = places["name_en"].fillna("").astype(str).to_numpy()
            parts.append(pd.DataFrame({"lon": places["lon"].to_numpy(float), "lat": places["lat"].to_numpy(float),
                                       "zh": np.where(zh != "", zh, en), "en": en, "seat_of": ""}))
        seats = county_seats(g.counties, places)
        parts.append(pd.DataFrame({"lon": seats["lon"].to_numpy(float), "lat": seats["lat"].to_numpy(float),
                                   "zh": "", "en": "", "seat_of": seats["adcode"].astype(str).to_numpy()}))
        out = pd.concat(parts, ignore_index=True)
        return out[(out["seat_of"] != "") | ((out["zh"] != "") & (out["en"] != ""))].reset_index(drop=True)

    return g.cached("siting.naming.anchors", build)


def place_names(lon, lat, county_adcode=None, geography=None) -> tuple[np.ndarray, np.ndarray]:
    """(``place_zh``, ``place_en``): object arrays naming each WGS-84 point (degrees) by its county and the
    nearest anchor (see the module docstring). ``county_adcode``: the points' counties when known (None or
    missing entries are located)."""
    lon = np.atleast_1d(np.asarray(lon, float))
    lat = np.atleast_1d(np.asarray(lat, float))
    n = len(lon)
    zh_out = np.empty(n, dtype=object)
    en_out = np.empty(n, dtype=object)
    if n == 0:
        return zh_out, en_out
    g = geography or geo.geography()
    codes = np.full(n, None, dtype=object) if county_adcode is None else np.array(list(county_adcode), dtype=object)
    missing = np.array([c is None or (isinstance(c, float) and np.isnan(c)) or str(c) in ("", "None", "nan") for c in codes])
    if missing.any():
        codes[missing] = geo.locate_counties(lon[missing], lat[missing]) if g is geo.geography() else None
    counties = g.counties
    cz = dict(zip(counties["adcode"].astype(str), counties["name_zh"].astype(str)))
    ce = dict(zip(counties["adcode"].astype(str), counties["name_en"].astype(str))) if "name_en" in counties.columns else cz
    prov = g.province.iloc[0] if len(g.province) else {}
    anchors = _anchors(g)
    if len(anchors):
        dist, idx = nearest_station(lon, lat, anchors["lon"].to_numpy(float), anchors["lat"].to_numpy(float))
        az, _, _ = _GEOD.inv(anchors["lon"].to_numpy(float)[idx], anchors["lat"].to_numpy(float)[idx], lon, lat)
    else:
        dist, idx, az = np.full(n, np.inf), np.full(n, -1), np.zeros(n)
    sector = (np.round(np.mod(np.asarray(az, float), 360.0) / 45.0).astype(int)) % 8
    for k in range(n):
        code = None if codes[k] is None else str(codes[k])
        county_zh = cz.get(code) or prov.get("name_zh", "云南省")
        county_en = ce.get(code) or prov.get("name_en", "Yunnan")
        if idx[k] < 0 or not np.isfinite(dist[k]) or dist[k] > FAR_M:
            zh_out[k], en_out[k] = county_zh, county_en
            continue
        seat = anchors["seat_of"].iat[idx[k]]
        if seat:
            a_zh, a_en = _seat_words(cz.get(seat, ""), ce.get(seat, ""), own=seat == code)
        else:
            a_zh, a_en = anchors["zh"].iat[idx[k]], anchors["en"].iat[idx[k]]
        if dist[k] <= NEAR_M:
            zh_out[k] = f"{county_zh} · {a_zh}附近"
            en_out[k] = f"{county_en} · near {a_en}"
        else:
            km = f"{dist[k] / 1000:.1f}"
            zh_out[k] = f"{county_zh} · {a_zh}{_DIR_ZH[sector[k]]} {km} 公里"
            en_out[k] = f"{county_en} · {km} km {_DIR_EN[sector[k]]} of {a_en}"
    return zh_out, en_out
