"""The analysis layers of the map sheets: coverage, gaps and recommended sites, computed by
:mod:`stations.coverage` and :mod:`stations.siting` and handed to :mod:`stations.cartography` as data.

:func:`compute_analysis` is the analysis provider the app, the command line and the atlas job give to
``cartography.Context`` (:func:`context` builds such a context). Each part degrades on its own: when a
computation fails (the demand model cannot be built here, for example), its layer stays ``None`` and a note
says so on the sheet. The coverage table (covered % per area) is always attempted, since the statistics box
shows it.
"""

from __future__ import annotations

import functools
from typing import Sequence

import pandas as pd

from . import coverage, siting
from .budget import Deadline
from .siting.naming import place_names
from .cartography import RECOMMENDED_N, AnalysisLayers, Context, buffer_coverage, without_coverage
from .errors import InputError
from .limits import LIMITS

__all__ = ["check_budget", "compute_analysis", "context", "name_gaps"]


def context(stations=None, *, seconds: float | None = None, max_pairs=LIMITS["coverage_pairs"],
            network=None) -> Context:
    """A cartography :class:`Context` over ``stations`` (default: the registry) whose analysis layers come
    from :func:`compute_analysis`, each computation limited to ``seconds`` (None: no limit) and its siting
    model to ``max_pairs`` (the web's ``coverage_pairs`` unless told); with a ``network``
    (:class:`stations.network.WalkNetwork`) the radius is walking metres on its streets."""
    return Context(stations=stations,
                   analysis_provider=functools.partial(compute_analysis, seconds=seconds, max_pairs=max_pairs,
                                                       network=network))


def check_budget(radius: float, layers: Sequence[str], max_pairs=LIMITS["coverage_pairs"]) -> None:
    """Refuse, before anything is drawn, a sheet whose recommended-sites layer would need a siting model of more
    than ``max_pairs`` pairs (:func:`stations.budget.check_coverage_pairs` over the bundled demand and its
    default candidates: :class:`stations.errors.LimitError`, HTTP 413). The other layers are bounded in time by
    :func:`compute_analysis`'s ``seconds``."""
    if "recommended" not in layers:
        return
    from .budget import check_coverage_pairs
    from .demand import load_demand

    try:
        demand = load_demand()
    except Exception:  # noqa: BLE001 - no demand model here: compute_analysis notes that on the sheet
        return
    cand = siting.default_candidates(demand)
    dlon, dlat = coverage.lonlat(demand)
    clon, clat = coverage.lonlat(cand)
    check_coverage_pairs(dlon, dlat, clon, clat, float(radius), max_pairs, candidates_param="layers")


def compute_analysis(stations, radius: float, layers: Sequence[str], *, seconds: float | None = None,
                     max_pairs=LIMITS["coverage_pairs"], network=None) -> AnalysisLayers:
    """Coverage layer, per-area table and gaps from :mod:`stations.coverage` (``radius`` in metres);
    recommended sites (the province-wide greedy ranking, top :data:`RECOMMENDED_N`) from
    :mod:`stations.siting`; the demand points (to frame the sheets); the gaps named by place
    (:func:`name_gaps`); the table rounded so that it adds up (:func:`stations.coverage.round_table`). Any
    part that fails leaves a note instead of failing the sheet, except a request over a budget: past ``seconds``
    (:class:`stations.errors.TimeLimitError`) or a siting model of more than ``max_pairs`` pairs
    (:class:`stations.errors.LimitError`), the sheet is refused with the reason.

    With a ``network`` the coverage, its layer (the area within walking reach), the table and the gaps are
    measured on foot (:func:`stations.network.network_coverage`): the sheet says "N分钟步行（街道网络）" and
    carries the network's attribution; the recommended sites stay a straight-line ranking (noted)."""
    deadline = Deadline(seconds, "the sheet's analysis layers", hint="ask for a smaller radius or fewer layers",
                        param="radius")
    result = AnalysisLayers()
    try:
        if network is not None:  # on foot (issue 13)
            from .network import WALK_M_PER_MIN, network_coverage

            res = network_coverage(network, stations, distance=float(radius))
            result.distance_label = f"{float(radius) / WALK_M_PER_MIN:.0f}分钟步行（街道网络）"
            result.notes.append(network.manifest.get("attribution_zh") or "路网数据 © OpenStreetMap 贡献者（ODbL 1.0）")
            if "recommended" in layers:
                result.notes.append("建议新增站点按直线距离计算")
        else:
            res = coverage.compute_coverage(stations, radius=float(radius))
    except Exception as exc:  # noqa: BLE001 - e.g. the demand model cannot be built here
        return without_coverage(f"覆盖率计算不可用（{type(exc).__name__}）", stations, radius, layers, result)
    result.demand = _demand_points(res)
    try:
        # rounded by coverage.round_table (largest remainder down the hierarchy), so that the figures printed on
        # a sheet add up: counties to their prefecture, prefectures to the province
        tables = [coverage.round_table(coverage.coverage_table(res, by=level)) for level in ("province", "prefecture", "county")]
        result.table = pd.concat(tables, ignore_index=True)
        result.table["adcode"] = result.table["adcode"].astype(str)
    except Exception as exc:  # noqa: BLE001
        result.notes.append(f"覆盖率统计不可用（{type(exc).__name__}）")
    if "coverage" in layers:
        try:
            result.coverage = coverage.coverage_layer(res)
            result.coverage_source = "stations.coverage"
        except Exception:  # noqa: BLE001 - the plain station buffers stand in
            result.coverage = buffer_coverage(stations, radius)
            result.coverage_source = "buffers"
    deadline.check("coverage")
    if "gaps" in layers:
        try:
            result.gaps = name_gaps(coverage.find_gaps(res, deadline=deadline))
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001
            result.notes.append(f"覆盖缺口图层不可用（{type(exc).__name__}）")
    if "recommended" in layers:
        deadline.check("coverage and gaps")
        result.recommended = _recommended(stations, radius, result, max_pairs, deadline)
    return result


def _demand_points(res) -> pd.DataFrame | None:
    """The demand points of a coverage result (``lon``, ``lat``, ``workers`` and the adcodes present), which
    the sheets use to frame an area around where its workers are."""
    d = getattr(res, "demand", None)
    if d is None or not len(d) or "workers" not in d:
        return None
    cols = [c for c in ("lon", "lat", "workers", "county_adcode", "prefecture_adcode") if c in d.columns]
    out = pd.DataFrame(d[cols])
    for c in ("county_adcode", "prefecture_adcode"):
        if c in out:
            out[c] = out[c].astype(str)
    return out


def name_gaps(gaps):
    """The gaps with ``place_zh`` / ``place_en``: their county and the nearest town or county seat
    (:func:`stations.siting.naming.place_names` at each gap's label point), as the sheets list them."""
    if gaps is None or not len(gaps) or "lon" not in gaps or "lat" not in gaps:
        return gaps
    counties = gaps["county_adcode"] if "county_adcode" in gaps else None
    zh, en = place_names(gaps["lon"].to_numpy(float), gaps["lat"].to_numpy(float), counties)
    gaps = gaps.copy()
    gaps["place_zh"] = zh
    gaps["place_en"] = en
    return gaps


def _recommended(stations, radius, result: AnalysisLayers, max_pairs=LIMITS["coverage_pairs"],
                 deadline: Deadline | None = None):
    """Recommended new sites (points, EPSG:4326), or None with a note; over a budget, the budget's error."""
    try:
        frame = siting.recommended_sites(RECOMMENDED_N, radius=float(radius), stations=stations, max_pairs=max_pairs,
                                         deadline=None if deadline is None else deadline.at)
    except InputError:
        raise
    except TimeoutError:
        if deadline is None:
            raise
        raise deadline.error("recommended sites") from None
    except Exception as exc:  # noqa: BLE001
        result.notes.append(f"建议新增站点计算失败（{type(exc).__name__}）")
        return None
    return frame.to_crs("EPSG:4326") if frame.crs else frame.set_crs("EPSG:4326")
