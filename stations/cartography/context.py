"""What a sheet is drawn from: the geography, the stations, and the analysis layers given as data.

Cartography does not compute coverage, gaps or recommended sites. A :class:`Context` asks its
``analysis_provider`` (a callable ``(stations, radius_m, layers) -> AnalysisLayers``) for them; the app and
the command line pass :func:`stations.sheet_layers.compute_analysis`. Without a provider
(:func:`no_analysis`) the coverage layer is the dissolved station buffers and the sheet says that
coverage figures, gaps and recommended sites are unavailable.

Also here: the area helpers shared by the sheet, its panels and the atlas (names, levels, the stations and
analysis rows of an area).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from stations import geo as geo_mod
from stations.schema import DEMO_SOURCE

from .request import ANALYSIS_LAYERS, PROVINCE_ADCODE

#: recommended sites on a sheet are the province-wide greedy ranking's top N (``stations.sheet_layers``)
RECOMMENDED_N = 100


@dataclass
class AnalysisLayers:
    """Optional analysis layers for a sheet (all EPSG:4326 GeoDataFrames or None)."""

    coverage: Any | None = None  # dissolved service areas
    gaps: Any | None = None  # polygons, optionally with uncovered_workers
    recommended: Any | None = None  # points
    table: pd.DataFrame | None = None  # adcode -> covered_pct, workers ... (rounded so that it adds up)
    demand: pd.DataFrame | None = None  # lon, lat, workers, county_adcode, prefecture_adcode (frames the sheets)
    notes: list[str] = field(default_factory=list)
    coverage_source: str = ""
    distance_label: str = ""  # e.g. "15分钟步行（街道网络）" when measured on foot (issue 13); "" = straight radius


def reach_text(analysis: AnalysisLayers, radius: float) -> str:
    """How far a sheet or an atlas cover measures: "15分钟步行（街道网络）" on foot, else "服务半径 1000 米"."""
    return analysis.distance_label or f"服务半径 {radius:g} 米"


def coverage_header(analysis: AnalysisLayers, radius: float) -> str:
    """The coverage column of a cover's table: "覆盖率（1000 米）", or "覆盖率（步行 1125 米）" on foot."""
    return f"覆盖率（步行 {radius:g} 米）" if analysis.distance_label else f"覆盖率（{radius:g} 米）"


AnalysisProvider = Callable[[Any, float, Sequence[str]], AnalysisLayers]


class Context:
    """Everything a sheet needs that is costly to load; one per sheet, shared by all pages of an atlas.

    ``stations``: a (Geo)DataFrame of the registry (default: the registry, read on first use);
    ``analysis_provider``: where the coverage, gaps and recommended sites come from (default
    :func:`no_analysis`). ``geo`` is the cached :class:`stations.geo.Geography`; ``census`` its 2020 census
    populations by adcode.
    """

    #: analysis layers kept (the most recently used): an atlas draws 17 pages from one, and a server asked for
    #: many radii must not keep a set of layers for each of them (issue 14)
    KEEP_ANALYSES = 2

    def __init__(self, stations=None, analysis_provider: AnalysisProvider | None = None):
        from collections import OrderedDict

        self.geo = geo_mod.geography()
        self._stations = stations
        self._analysis: OrderedDict[tuple[float, tuple[str, ...]], AnalysisLayers] = OrderedDict()
        self._analysis_provider = analysis_provider or no_analysis
        self.census = self.geo.census

    @property
    def stations(self):
        if self._stations is None:
            from stations.registry import Registry

            self._stations = Registry().load()
        self._stations = with_adcodes(self._stations, self.geo)
        return self._stations

    def analysis(self, radius: float, layers: Sequence[str]) -> AnalysisLayers:
        wanted = tuple(sorted(set(layers) & set(ANALYSIS_LAYERS)))
        key = (float(radius), wanted)
        hit = self._analysis.get(key)
        if hit is None:
            hit = self._analysis_provider(self.stations, radius, wanted)
            self._analysis[key] = hit
        self._analysis.move_to_end(key)
        while len(self._analysis) > self.KEEP_ANALYSES:
            self._analysis.popitem(last=False)
        return hit


def with_adcodes(stations, geo):
    """Stations with ``prefecture_adcode`` / ``county_adcode`` (derived by spatial join when missing)."""
    import geopandas as gpd

    if not isinstance(stations, gpd.GeoDataFrame):
        stations = gpd.GeoDataFrame(stations, geometry=gpd.points_from_xy(stations["lon"], stations["lat"]), crs="EPSG:4326")
    if stations.crs is None:
        stations = stations.set_crs("EPSG:4326")
    if "county_adcode" in stations and "prefecture_adcode" in stations:
        return stations
    stations = stations.copy()
    codes = geo_mod.locate_counties(stations.geometry.x.to_numpy(), stations.geometry.y.to_numpy())
    stations["county_adcode"] = [str(c) if c else "" for c in codes]
    stations["prefecture_adcode"] = [geo.county_prefecture.get(str(c), "") if c else "" for c in codes]
    return stations


def buffer_coverage(stations, radius: float):
    """Service areas without a coverage model: the dissolved ``radius`` (metres) buffers of the open stations,
    computed in METRIC_CRS, returned as one polygon in EPSG:4326 (None without open stations)."""
    import geopandas as gpd
    import shapely

    metric = geo_mod.METRIC_CRS
    open_ = stations[stations["status"] == "open"]
    if open_.empty:
        return None
    pts = open_.to_crs(metric).geometry.values
    union = shapely.union_all(shapely.buffer(np.asarray(pts), radius, quad_segs=8))
    return gpd.GeoDataFrame({"radius_m": [radius]}, geometry=[union], crs=metric).to_crs("EPSG:4326")


def without_coverage(note: str, stations, radius: float, layers: Sequence[str],
                     result: AnalysisLayers | None = None) -> AnalysisLayers:
    """No coverage computation: plain station buffers stand in for the coverage layer, and the sheet says
    (``note``) that the figures, gaps and recommended sites are unavailable."""
    result = result or AnalysisLayers()
    result.notes.append(note)
    if "coverage" in layers:
        result.coverage = buffer_coverage(stations, radius)
        result.coverage_source = "buffers"
    if "gaps" in layers:
        result.notes.append("覆盖缺口图层不可用")
    if "recommended" in layers:
        result.notes.append("建议新增站点图层不可用")
    return result


def no_analysis(stations, radius: float, layers: Sequence[str]) -> AnalysisLayers:
    """The default analysis provider: no coverage model (see :func:`without_coverage`)."""
    return without_coverage("覆盖率计算模块不可用，统计框不含覆盖率", stations, radius, layers)


# ------------------------------------------------------------------------------------------- areas


def area_level(adcode: str) -> str:
    """``province``, ``prefecture`` or ``county``."""
    g = geo_mod.geography()
    if adcode == PROVINCE_ADCODE:
        return "province"
    if adcode in g.prefecture_names:
        return "prefecture"
    return "county"


def area_name(adcode: str) -> str:
    g = geo_mod.geography()
    if adcode == PROVINCE_ADCODE:
        names = g.province["name_zh"].tolist()
        return names[0] if names else "云南省"
    return g.prefecture_names.get(adcode) or g.county_names[adcode]


def sheet_title(adcode: str) -> str:
    return f"{area_name(adcode)}工会驿站分布图"


def area_geometry(g, adcode: str, level: str):
    """The area as one shapely geometry in EPSG:4326."""
    if level == "province":
        return g.province.geometry.union_all()
    frame = g.prefectures if level == "prefecture" else g.counties
    return frame[frame["adcode"].astype(str) == adcode].geometry.union_all()


def data_date(stations) -> str:
    """The latest ``updated_at`` of the stations as YYYY-MM-DD, or a dash."""
    if stations is None or len(stations) == 0 or "updated_at" not in stations:
        return "—"
    values = pd.to_datetime(stations["updated_at"], errors="coerce", utc=True).dropna()
    if values.empty:
        return "—"
    return values.max().strftime("%Y-%m-%d")


def is_demo(stations) -> bool:
    """Whether any station is from the synthetic demo set (the sheets then say so)."""
    return stations is not None and "source" in stations and bool((stations["source"] == DEMO_SOURCE).any())


def area_stations(stations, adcode: str, level: str):
    if level == "province":
        return stations
    column = "prefecture_adcode" if level == "prefecture" else "county_adcode"
    return stations[stations[column].astype(str) == adcode]


def in_area(frame, adcode: str, level: str) -> pd.Series:
    """Rows of a layer (with county/prefecture adcode columns) that belong to the area."""
    if level == "province":
        return pd.Series(True, index=frame.index)
    column = "prefecture_adcode" if level == "prefecture" else "county_adcode"
    if column not in frame:
        return pd.Series(True, index=frame.index)
    return frame[column].astype(str) == adcode


#: a gap with fewer uncovered outdoor workers than this is not listed or numbered on a sheet (it is still
#: drawn): about half of what an open station covers on average (the demo registry: 737,000 covered workers
#: for 3,504 open stations at 1 km, 210 each), too few to plan a station for. Gaps with the same name are
#: merged before the threshold applies.
MIN_LISTED_GAP_WORKERS = 100.0


def gap_names(gaps, geo=None) -> pd.Series:
    """The name a sheet gives each gap: ``place_zh`` (county and nearest town, from
    :func:`stations.sheet_layers.name_gaps`) or, without it, the county's name."""
    if "place_zh" in gaps:
        names = gaps["place_zh"].astype(object)
        if names.notna().all():
            return names.astype(str)
    g = geo or geo_mod.geography()
    county = gaps["county_adcode"].astype(str) if "county_adcode" in gaps else pd.Series("", index=gaps.index)
    fallback = county.map(g.county_names).fillna("")
    if "place_zh" in gaps:
        return gaps["place_zh"].where(gaps["place_zh"].notna(), fallback).astype(str)
    return fallback.astype(str)


def top_gaps(analysis: AnalysisLayers, adcode: str, level: str, n: int, min_workers: float = MIN_LISTED_GAP_WORKERS):
    """The ``n`` largest gaps of the area as a sheet lists and numbers them (None without gaps): gaps with the
    same name (:func:`gap_names`) merged into one (their uncovered workers added, the largest one's polygon
    kept for the number), those with fewer than ``min_workers`` uncovered workers left out, largest first.
    Columns: ``name``, ``uncovered_workers``, ``parts``, ``county_adcode``, geometry (EPSG:4326)."""
    gaps = analysis.gaps
    if gaps is None or not len(gaps) or "uncovered_workers" not in gaps:
        return None
    sel = gaps[in_area(gaps, adcode, level)]
    if not len(sel):
        return sel.iloc[0:0]
    sel = sel.assign(name=gap_names(sel).to_numpy()).sort_values("uncovered_workers", ascending=False, kind="stable")
    grouped = sel.groupby("name", sort=False)
    merged = grouped.head(1).copy()  # the largest gap of each name carries the polygon and the county
    merged["uncovered_workers"] = grouped["uncovered_workers"].sum().reindex(merged["name"]).to_numpy()
    merged["parts"] = grouped.size().reindex(merged["name"]).to_numpy()
    merged = merged[merged["uncovered_workers"] >= min_workers]
    return merged.sort_values("uncovered_workers", ascending=False, kind="stable").head(n)


def covered_pct(analysis: AnalysisLayers, adcode: str) -> float | None:
    """Per cent of the area's outdoor workers covered, from the analysis table (None when not computed)."""
    table = analysis.table
    if table is None or "adcode" not in table or "covered_pct" not in table:
        return None
    row = table[table["adcode"].astype(str) == adcode]
    if row.empty:
        return None
    value = row["covered_pct"].iloc[0]
    return None if pd.isna(value) else float(value)
