"""Recommendations: the sites a solver chose as a table, coverage before and after, downloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import coverage as C
from ..coords import wgs84_to_gcj02
from ..demand import load_demand
from ..errors import SitingError
from ..export import atomic_path, format_from_path, write_table, write_xlsx
from ..limits import LIMITS
from ..registry import Registry
from .candidates import _locate
from .model import MaxCover
from .naming import place_names
from .scenario import with_added_sites
from .solution import Solution
from .swap import SWAP_TIME_LIMIT, improve

__all__ = ["SITE_COLUMNS", "Recommendation", "recommend", "recommended_sites"]

SITE_COLUMNS = (
    "rank",
    "candidate_id",
    "name",
    "place_zh",
    "place_en",
    "gain_workers",
    "cumulative_covered",
    "cumulative_pct",
    "county_adcode",
    "prefecture_adcode",
    "lon",
    "lat",
    "lon_gcj02",
    "lat_gcj02",
    "nearest_station_id",
    "nearest_station_m",
)


@dataclass
class Recommendation:
    """The answer to one siting request."""

    model: MaxCover
    solution: Solution  # the one the sites come from (greedy+swap by default, or exact when it is better)
    greedy: Solution
    exact: Solution | None
    sites: gpd.GeoDataFrame
    before: C.CoverageResult
    after: C.CoverageResult
    mode: str = "max-cover"  # or "set-cover"
    swap: Solution | None = None  # the greedy improved by swaps (max-cover with swaps on)

    def summary(self) -> dict:
        s = {
            "mode": self.mode,
            "method": self.solution.method,
            "sites": int(len(self.sites)),
            "workers": round(self.before.workers, 3),
            "before": {"workers_covered": round(self.before.workers_covered, 3), "covered_pct": round(self.before.covered_pct, 4),
                       "stations": int(len(self.before.stations))},
            "after": {"workers_covered": round(self.after.workers_covered, 3), "covered_pct": round(self.after.covered_pct, 4),
                      "stations": int(len(self.after.stations))},
            "greedy_objective": round(self.greedy.objective, 3),
            "greedy_upper_bound": None if self.greedy.upper_bound is None else round(float(self.greedy.upper_bound), 3),
            "greedy_time_s": round(self.greedy.time_s, 4),
            "candidates": int(self.model.n_candidates),
        }
        if self.swap is not None:
            x = self.swap.extra
            s.update(swap_objective=round(self.swap.objective, 3), swap_time_s=round(x["swap_time_s"], 4),
                     improvement_workers=round(x["improvement_workers"], 3), improvement_pct=round(x["improvement_pct"], 4),
                     swaps=int(x["swaps"]), pair_swaps=int(x["pair_swaps"]), swap_local_optimum=bool(x["local_optimum"]),
                     swap_status=self.swap.status)
        if self.exact is not None and self.mode == "set-cover":
            s.update(greedy_sites=int(self.greedy.n), exact_sites=int(self.exact.n) if self.exact.extra.get("reached") else None,
                     exact_status=self.exact.status, exact_lower_bound_sites=self.exact.extra.get("lower_bound_sites"),
                     exact_time_s=round(self.exact.time_s, 3),
                     gap_sites=(int(self.greedy.n) - int(self.exact.n)) if self.exact.extra.get("reached") else None)
        elif self.exact is not None:
            s.update(exact_objective=round(self.exact.objective, 3), exact_status=self.exact.status,
                     exact_upper_bound=None if self.exact.upper_bound is None else round(float(self.exact.upper_bound), 3),
                     exact_time_s=round(self.exact.time_s, 3),
                     gap=round((self.exact.objective - self.greedy.objective) / self.exact.objective, 6)
                     if self.exact.objective > 0 else 0.0)
            if self.swap is not None:
                s["swap_gap"] = (round((self.exact.objective - self.swap.objective) / self.exact.objective, 6)
                                 if self.exact.objective > 0 else 0.0)
        if self.mode == "set-cover":
            for k in ("reached", "target_pct", "bound_ratio", "lower_bound_sites", "guarantee"):
                s[k] = self.greedy.extra.get(k)
            s["greedy_sites"] = int(self.greedy.n)
            if self.exact is not None and self.exact.status == "optimal" and self.exact.extra.get("reached"):
                s["lower_bound_sites"] = int(self.exact.n)
        else:
            ub = self.greedy.upper_bound
            best = self.solution.objective
            s["guarantee"] = ("greedy maximal covering (Nemhauser, Wolsey & Fisher 1978): at least (1 - 1/e) = 63.2% of the "
                              "optimum" + (" (swaps only add to it)" if self.swap is not None else "")
                              + (f"; here at least {100 * best / ub:.1f}% of the upper bound +{ub:,.0f}" if ub else ""))
        return s

    def tables(self, by: str = "prefecture", geography: C.Geography | None = None) -> pd.DataFrame:
        """Before/after coverage by ``by`` (prefecture, county or province), from
        :func:`stations.coverage.coverage_table` on both results."""
        b = C.round_table(C.coverage_table(self.before, by, geography))
        a = C.round_table(C.coverage_table(self.after, by, geography))
        out = b[["level", "adcode", "name", "name_en", "parent_adcode", "workers"]].copy()
        out["stations_before"] = b["stations"].to_numpy()
        out["stations_after"] = a["stations"].to_numpy()
        out["new_sites"] = out["stations_after"] - out["stations_before"]
        out["covered_before"] = b["workers_covered"].to_numpy()
        out["covered_after"] = a["workers_covered"].to_numpy()
        out["gain_workers"] = (out["covered_after"] - out["covered_before"]).round(0)
        out["covered_pct_before"] = b["covered_pct"].to_numpy()
        out["covered_pct_after"] = a["covered_pct"].to_numpy()
        return out

    def curve(self, out, lang: str = "zh") -> list[Path]:
        from ..cartography.charts import coverage_curve  # the chart is drawn by cartography (which never imports siting)

        return coverage_curve(self, out, lang=lang)

    def export(self, out, fmt: str | None = None, geography: C.Geography | None = None,
               scenario: str | None = None) -> list[Path]:
        """Write the sites as CSV (UTF-8 with BOM), XLSX (sheets: sites, prefectures, counties, summary),
        GeoJSON (the sites) or GeoPackage (layers: sites, counties and prefectures with before/after). CSV
        gets two siblings: ``<stem>-prefectures.csv`` and ``<stem>-counties.csv``. The sites are named by place
        first (``name_zh``, ``name_en``, ``county``; coordinates after); ``scenario``: the id of the accepted
        scenario the sites were recommended on, written as a first column ``scenario``."""
        out = Path(out)
        fmt = format_from_path(out, fmt)
        sites = named_sites(rounded_sites(self.sites), geography, scenario)
        written = [out]
        if fmt == "csv":
            write_table(sites, "csv", out)
            for by, plural in (("prefecture", "prefectures"), ("county", "counties")):
                p = out.with_name(f"{out.stem}-{plural}.csv")
                write_table(self.tables(by, geography), "csv", p)
                written.append(p)
        elif fmt == "xlsx":
            summ = self.summary()
            flat = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v) for k, v in summ.items()}
            with atomic_path(out) as tmp:  # the one XLSX writer: no live formulas (stations.export)
                write_xlsx({"sites": pd.DataFrame(sites.drop(columns="geometry")),
                            "prefectures": self.tables("prefecture", geography),
                            "counties": self.tables("county", geography),
                            "summary": pd.DataFrame({"key": list(flat), "value": [str(v) for v in flat.values()]})}, tmp)
        elif fmt == "geojson":
            write_table(sites, "geojson", out)
        else:
            geo = geography or C.Geography.load()
            with atomic_path(out) as tmp:
                sites.to_file(tmp, driver="GPKG", layer="sites", engine="pyogrio")
                for by, src in (("county", geo.counties), ("prefecture", geo.prefectures)):
                    t = self.tables(by, geo)
                    polys = src.set_index(src["adcode"].astype(str)).geometry.to_crs(4326)
                    g = gpd.GeoDataFrame(t, geometry=polys.reindex(t["adcode"]).to_numpy(), crs="EPSG:4326")
                    g.to_file(tmp, driver="GPKG", layer=f"{by}_before_after", engine="pyogrio")
        return written


def rounded_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The sites rounded for display and downloads (workers to 0.01, coordinates to 6 decimals, metres to 0.1)."""
    s = sites.copy()
    for col, nd in (("gain_workers", 2), ("cumulative_covered", 1), ("cumulative_pct", 3), ("lon", 6), ("lat", 6),
                    ("lon_gcj02", 6), ("lat_gcj02", 6), ("nearest_station_m", 1)):
        if col in s.columns:
            s[col] = s[col].astype(float).round(nd)
    return s


def named_sites(sites: gpd.GeoDataFrame, geography: C.Geography | None = None,
                scenario: str | None = None) -> gpd.GeoDataFrame:
    """The sites as downloaded: ``rank``, ``name_zh`` / ``name_en`` (the place names, "五华区 · 昆明附近"),
    ``county`` (the county's Chinese name) first, the other columns after (coordinates among them); with a
    ``scenario`` column first when they were recommended on an accepted scenario."""
    s = sites.copy()
    s["name_zh"] = s["place_zh"] if "place_zh" in s.columns else ""
    s["name_en"] = s["place_en"] if "place_en" in s.columns else ""
    names = {}
    try:
        counties = (geography or C.Geography.load()).counties
        names = dict(zip(counties["adcode"].astype(str), counties["name_zh"].astype(str)))
    except Exception:  # noqa: BLE001 - no geography: the adcode stays, the name is left empty
        pass
    s["county"] = [names.get(str(c), "") for c in s.get("county_adcode", pd.Series([None] * len(s)))]
    first = ["rank", "name_zh", "name_en", "county"]
    cols = [c for c in first if c in s.columns] + [c for c in s.columns if c not in first]
    s = s[cols]
    if scenario:
        s.insert(0, "scenario", scenario)
    return s


def _sites_frame(model: MaxCover, sol: Solution) -> gpd.GeoDataFrame:
    cand = model.candidates if model.candidates is not None else pd.DataFrame(
        {"lon": np.zeros(model.n_candidates), "lat": np.zeros(model.n_candidates)})
    c = cand.iloc[sol.order].reset_index(drop=True)
    lon, lat = C._lonlat(c) if len(c) else (np.zeros(0), np.zeros(0))
    glon, glat = wgs84_to_gcj02(lon, lat) if len(lon) else (np.zeros(0), np.zeros(0))
    cum = sol.cumulative()[1:]
    st = model.stations
    if st is not None and len(st) and len(lon):
        slon, slat = C._lonlat(st)
        dist, idx = C.nearest_station(lon, lat, slon, slat)
        sid = st["id"].astype(str).to_numpy()[idx] if "id" in st.columns else idx.astype(str)
    else:
        dist, sid = np.full(len(lon), np.nan), np.full(len(lon), None, dtype=object)
    county = c["county_adcode"].to_numpy(dtype=object) if "county_adcode" in c.columns else _locate(lon, lat)
    pref = (c["prefecture_adcode"].to_numpy(dtype=object) if "prefecture_adcode" in c.columns
            else np.array([None if x is None else str(x)[:4] + "00" for x in county], dtype=object))
    place_zh, place_en = place_names(lon, lat, county)
    df = pd.DataFrame({
        "rank": np.arange(1, len(c) + 1),
        "candidate_id": c["candidate_id"].astype(str).to_numpy() if "candidate_id" in c.columns else sol.order.astype(str),
        "name": c["name"].astype(str).to_numpy() if "name" in c.columns else [""] * len(c),
        "place_zh": place_zh, "place_en": place_en,
        "gain_workers": sol.gains,
        "cumulative_covered": cum,
        "cumulative_pct": 100.0 * cum / sol.total if sol.total > 0 else np.zeros(len(cum)),
        "county_adcode": county,
        "prefecture_adcode": pref,
        "lon": lon, "lat": lat,
        "lon_gcj02": np.asarray(glon, float), "lat_gcj02": np.asarray(glat, float),
        "nearest_station_id": sid,
        "nearest_station_m": np.where(np.isfinite(dist), dist, np.nan),
    })
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def recommend(stations: pd.DataFrame, demand: gpd.GeoDataFrame | None = None, n: int | None = None,
              target_pct: float | None = None, radius=C.DEFAULT_RADIUS_M, hour: int | None = None, weekday: int = 2,
              candidates: pd.DataFrame | None = None, exact: bool | str = False, time_limit: float = 60.0,
              progress: Callable[[int, int], None] | None = None, deadline: float | None = None,
              max_sites: int | None = None, model: MaxCover | None = None, swaps: bool = True,
              swap_time_limit: float = SWAP_TIME_LIMIT) -> Recommendation:
    """Recommend sites: the best ``n`` (maximal covering) or the fewest reaching ``target_pct`` (set
    covering; ``max_sites`` caps it).

    Maximal covering: the lazy greedy, then (``swaps``, the default) the swap local search of
    :func:`stations.siting.swap.improve` until a local optimum, ``deadline`` (``time.perf_counter()``; the
    greedy raises :class:`TimeoutError` past it, the swaps stop and keep what they found) or
    ``swap_time_limit`` seconds: the answer's method is ``greedy+swap`` and its summary carries the
    improvement. ``exact``: False, True, or ``"auto"`` (only when the reduced instance is within
    :data:`MAX_EXACT_NNZ`), warm-started with the best heuristic answer; when it finds more, its sites are used."""
    if (n is None) == (target_pct is None):
        raise SitingError("give either n (number of sites) or target_pct (coverage target), not both",
                          param="n" if n is None else "target_pct")
    if demand is None:
        demand = load_demand()
    if model is None:
        model = MaxCover.from_geodataframes(demand, candidates, stations, radius, hour, weekday)
    ex = sw = None
    if n is not None:
        greedy = model.solve_greedy(n, progress=progress, deadline=deadline)
        chosen = greedy
        if swaps:
            sw = improve(model, greedy, deadline=deadline, time_limit=swap_time_limit)
            chosen = sw
        if exact:
            try:
                ex = model.solve_exact(n, time_limit=time_limit, warm_start=chosen)
            except SitingError:
                if exact != "auto":
                    raise
            if ex is not None and ex.objective > chosen.objective + model._tol():
                chosen = ex
        mode = "max-cover"
    else:
        greedy = model.solve_set_cover(target_pct, max_sites=max_sites, progress=progress, deadline=deadline)
        chosen = greedy
        mode = "set-cover"
        if exact:
            try:
                ex = model.solve_set_cover_exact(target_pct, time_limit=time_limit, warm_start=greedy)
            except SitingError:
                if exact != "auto":
                    raise
            if (ex is not None and ex.extra.get("reached") and greedy.extra.get("reached") and ex.n < greedy.n):
                chosen = ex
    sites = _sites_frame(model, chosen)
    before = C.compute_coverage(stations if stations is not None else with_added_sites(None, [], []), demand, radius, hour, weekday)
    after_st = with_added_sites(stations, sites["lon"].to_numpy(), sites["lat"].to_numpy(),
                                county_adcode=sites["county_adcode"].to_numpy())
    after = C.compute_coverage(after_st, demand, radius, hour, weekday)
    return Recommendation(model, chosen, greedy, ex, sites, before, after, mode, swap=sw)


def recommended_sites(n: int, radius=C.DEFAULT_RADIUS_M, hour: int | None = None, *, stations=None, demand=None,
                      candidates=None, max_pairs=LIMITS["coverage_pairs"], deadline: float | None = None) -> gpd.GeoDataFrame:
    """The ``n`` recommended sites (greedy + swaps, as the planner's default answer; default town-cell
    candidates, the registry's stations and the bundled demand unless given) as a GeoDataFrame in EPSG:4326
    with :data:`SITE_COLUMNS` -- for the print sheets and anyone else. ``max_pairs`` bounds the siting model
    (default: the web limit ``coverage_pairs``; :class:`stations.errors.LimitError` beyond it), ``deadline`` (a
    ``time.perf_counter()`` value) the search."""
    if stations is None:
        stations = Registry().load()
    if demand is None:
        demand = load_demand()
    model = MaxCover.from_geodataframes(demand, candidates, stations, radius, hour, max_pairs=max_pairs)
    return _sites_frame(model, model.solve_greedy_swap(n, deadline=deadline))
