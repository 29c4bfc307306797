"""What-if scenarios: the registry's stations plus hypothetical ones, minus closed ones; nothing is written."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import coverage as C
from ..errors import SitingError
from ..hours import HoursParseError, OpeningHours, parse_hours
from .candidates import _locate
from .naming import place_names

__all__ = ["NEW_ID_PREFIX", "with_added_sites", "whatif"]

NEW_ID_PREFIX = "NEW-"


def _open_24h_json() -> str:
    return parse_hours("24小时").to_json()


def _hours_of(hours, k: int) -> tuple[list[str], list[str]]:
    """(opening_hours text, hours_json) for ``k`` hypothetical stations: ``hours`` is None (all 24 hours) or a
    sequence of None / opening-hours text / :class:`stations.hours.OpeningHours`, one per station. Raises
    :class:`stations.hours.HoursParseError` (message prefixed with the station's position, ``param="hours"``) for bad
    text."""
    h24 = _open_24h_json()
    if hours is None:
        return ["24小时"] * k, [h24] * k
    hours = list(hours)
    if len(hours) != k:
        raise SitingError(f"hours: {len(hours)} values for {k} sites", param="hours")
    texts, js = [], []
    for i, h in enumerate(hours):
        if h is None or (isinstance(h, str) and not h.strip()):
            texts.append("24小时")
            js.append(h24)
        elif isinstance(h, OpeningHours):
            texts.append(h.text or h.to_json())
            js.append(h.to_json())
        else:
            try:
                oh = parse_hours(h)
            except HoursParseError as exc:
                raise HoursParseError(f"site {i + 1}: {exc}", param="hours") from None
            texts.append(str(h).strip())
            js.append(oh.to_json())
    return texts, js


def with_added_sites(stations: pd.DataFrame | None, lon, lat, ids=None, county_adcode=None, close=None,
                     hours=None) -> gpd.GeoDataFrame:
    """``stations`` plus hypothetical open stations at (lon, lat) (ids ``NEW-001``..., named by place in
    ``place_zh`` / ``place_en``: :func:`stations.siting.naming.place_names`), with the stations whose
    ids are in ``close`` set to ``closed``. ``hours``: None (every new station open 24 hours) or one entry per
    new station: None (24 hours), opening-hours text (parsed by :func:`stations.hours.parse_hours`) or an
    :class:`~stations.hours.OpeningHours`. A copy: nothing is written anywhere."""
    lon = np.atleast_1d(np.asarray(lon, float))
    lat = np.atleast_1d(np.asarray(lat, float))
    hours_text, hours_json = _hours_of(hours, len(lon))
    base = stations.copy() if stations is not None else pd.DataFrame(columns=["id", "lon", "lat", "status", "hours_json"])
    if close:
        close = {str(c) for c in close}
        base.loc[base["id"].astype(str).isin(close), "status"] = "closed"
    if len(lon):
        if county_adcode is None:
            county_adcode = _locate(lon, lat)
        codes = pd.Series(county_adcode, dtype=object).to_numpy()
        place_zh, place_en = place_names(lon, lat, codes)
        new = pd.DataFrame({
            "id": list(ids) if ids is not None else [f"{NEW_ID_PREFIX}{i + 1:03d}" for i in range(len(lon))],
            "name": [f"建议站点 {i + 1}" for i in range(len(lon))],
            "place_zh": place_zh, "place_en": place_en,
            "lon": lon, "lat": lat,
            "county_adcode": codes,
            "prefecture_adcode": [None if c is None else str(c)[:4] + "00" for c in codes],
            "status": "open", "opening_hours": hours_text, "hours_json": hours_json, "source": "hypothetical",
        })
        if isinstance(base, gpd.GeoDataFrame):
            base = pd.DataFrame(base.drop(columns=base.geometry.name))
        base = pd.concat([base, new], ignore_index=True) if len(base) else new
    if not isinstance(base, gpd.GeoDataFrame):
        base = gpd.GeoDataFrame(base, geometry=gpd.points_from_xy(base["lon"].astype(float), base["lat"].astype(float)), crs="EPSG:4326")
    return base


def whatif(stations: pd.DataFrame, demand: gpd.GeoDataFrame, add=(), close=(), radius=C.DEFAULT_RADIUS_M,
           hour: int | None = None, weekday: int = 2) -> tuple[C.CoverageResult, C.CoverageResult]:
    """Coverage before and after a scenario: ``add`` hypothetical stations at [(lon, lat), ...] or
    [(lon, lat, hours text), ...] (hours omitted or None: open 24 hours) and ``close`` the stations with these
    ids. Returns (before, after); nothing is written anywhere."""
    add = [tuple(a) for a in add]
    xy = np.asarray([a[:2] for a in add], dtype=float).reshape(-1, 2)
    hours = [a[2] if len(a) > 2 else None for a in add]
    before = C.compute_coverage(stations, demand, radius, hour, weekday)
    scen = with_added_sites(stations, xy[:, 0], xy[:, 1], close=list(close), hours=hours)
    after = C.compute_coverage(scen, demand, radius, hour, weekday)
    return before, after
