"""Load on stations and two-step floating catchment (2SFCA) accessibility of outdoor-worker demand.

Coverage says whether a worker has a station within the radius; it does not say how many others share it. A
station within 1 km of 5,000 workers is not the one within 1 km of 50. Two measures (``docs/accessibility.md``):

**Load** (:func:`station_load`). Every covered worker is assigned to the nearest active station (the one of
:func:`stations.coverage.compute_coverage`, ``nearest_station``); a station's load is the number of workers
so assigned (``load_workers``) and of their demand cells (``load_cells``). Loads add up: over all stations
they equal the covered workers. A worker beyond the radius of every station is nobody's load.

**2SFCA** (Luo & Wang 2003; :func:`two_step_fca`, :func:`accessibility`). With ``P_k`` the workers of demand
cell ``k``, ``S_l`` the supply of station ``l`` (1: one station, one unit), and the catchment ``C`` the
(station, cell) pairs within the service radius of the cell (geodesic metres; the per-class radius when the
radius depends on the area class):

    step 1, per station:   R_l = S_l / sum_{k : (l, k) in C} P_k        (stations per worker in its catchment)
    step 2, per cell:      A_k = sum_{l : (l, k) in C} R_l              (stations per worker reachable from k)

Reported per 1,000 workers (``access_per_1000 = 1000 A_k``). Cells with no station in reach score 0. A station
whose catchment holds no workers (``sum P_k = 0``) serves nobody: it is left out of step 2 (its ratio would be
infinite). Summed over cells, ``sum_k P_k A_k`` equals the number of stations with workers in reach: the score
shares the supply out, nothing is created or lost -- a property the tests check.

The sums are computed by PySAL ``access`` (``access.fca.two_stage_fca``, the maintained implementation of the
floating catchment family; it installs and runs with this project's numpy 2 / pandas 3 / geopandas 1). Its
function is called directly rather than through ``access.Access``, whose constructor attaches its own stderr
handler to the ``access`` logger (the server logs through its own handlers). The catchment pairs are those of
:func:`stations.proximity.coverage_matrix` (ECEF chords, within a millimetre of the geodesic at these
distances; :func:`catchment_matrix` finds the same pairs faster), or any sparse station x cell matrix the
caller passes (a road-network catchment, for instance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from scipy.spatial import cKDTree

from .proximity import ecef

__all__ = ["PER_WORKERS", "AccessResult", "catchment_matrix", "station_load", "two_step_fca", "accessibility", "top_loaded"]

PER_WORKERS = 1000.0  # accessibility is reported in stations per this many workers


def _lonlat(frame) -> tuple[np.ndarray, np.ndarray]:
    if "lon" in frame.columns and "lat" in frame.columns:
        return frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    g = frame.geometry.to_crs(4326) if frame.crs is not None else frame.geometry
    return g.x.to_numpy(), g.y.to_numpy()


def _ids(stations: pd.DataFrame) -> np.ndarray:
    return stations["id"].astype(str).to_numpy() if "id" in stations.columns else np.arange(len(stations)).astype(str)


def catchment_matrix(station_lon, station_lat, demand_lon, demand_lat, radius) -> sparse.csr_matrix:
    """Sparse boolean (n_stations x n_cells): the cell lies within ``radius`` metres (a number or one per cell)
    of the station. The same pairs as :func:`stations.proximity.coverage_matrix` (ECEF chords, within a
    millimetre of the geodesic at these distances), found tree against tree (``cKDTree.sparse_distance_matrix``)
    rather than one query per cell: a few thousand stations against 72,574 cells in a tenth of the time."""
    n_s, n_d = len(station_lon), len(demand_lon)
    if n_s == 0 or n_d == 0:
        return sparse.csr_matrix((n_s, n_d), dtype=bool)
    r = np.broadcast_to(np.asarray(radius, float), (n_d,))
    s_tree = cKDTree(ecef(station_lon, station_lat))
    d_xyz = ecef(demand_lon, demand_lat)
    rows, cols = [], []
    for rv in np.unique(r):
        sel = np.flatnonzero(r == rv)
        hits = s_tree.sparse_distance_matrix(cKDTree(d_xyz[sel]), rv * (1 + 1e-12), output_type="ndarray")
        rows.append(hits["i"].astype(np.int64))
        cols.append(sel[hits["j"]])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n_s, n_d))


def station_load(result) -> pd.DataFrame:
    """Per active station of ``result`` (a :class:`stations.coverage.CoverageResult`), in the result's order:
    ``id``, ``load_workers`` (covered workers whose nearest active station it is), ``load_cells`` (their
    demand cells). The loads sum to ``result.workers_covered``."""
    st = result.stations
    d = result.demand
    ids = _ids(st)
    cov = d["covered"].to_numpy(bool)
    who = d["nearest_station"].to_numpy(dtype=object)[cov].astype(str)
    w = d["workers"].to_numpy(float)[cov]
    pos = pd.Series(np.arange(len(ids)), index=ids)
    k = pos.reindex(who).to_numpy()
    ok = ~np.isnan(k)
    k = k[ok].astype(np.int64)
    load = np.bincount(k, weights=w[ok], minlength=len(ids))
    cells = np.bincount(k, minlength=len(ids))
    return pd.DataFrame({"id": ids, "load_workers": load, "load_cells": cells.astype(np.int64)})


def two_step_fca(workers, catchment, supply=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2SFCA on a catchment: ``workers`` (n_cells), ``catchment`` (n_stations x n_cells, sparse or dense,
    true/non-zero where the cell is in the station's catchment), ``supply`` (n_stations; default 1 each).

    Returns ``(A, R, catchment_workers)``: ``A`` (n_cells) the accessibility (stations per worker; 0 where no
    station is in reach), ``R`` (n_stations) each station's supply-to-demand ratio (0 when its catchment has no
    workers) and ``catchment_workers`` (n_stations) the workers in each catchment. Computed with PySAL
    ``access`` (see the module docstring)."""
    from access import fca

    P = np.asarray(workers, dtype=float).ravel()
    M = sparse.coo_matrix(catchment)
    n_st, n_c = M.shape
    if n_c != len(P):
        raise ValueError(f"the catchment has {n_c} cells but there are {len(P)} worker counts")
    S = np.ones(n_st) if supply is None else np.asarray(supply, dtype=float).ravel()
    if len(S) != n_st:
        raise ValueError(f"the catchment has {n_st} stations but there are {len(S)} supply values")
    keep = np.asarray(M.data != 0).ravel()
    st_i, cell_j = M.row[keep].astype(np.int64), M.col[keep].astype(np.int64)
    pairs = pd.DataFrame({"st": st_i, "cell": cell_j}).drop_duplicates()
    caught = np.bincount(pairs["st"].to_numpy(), weights=P[pairs["cell"].to_numpy()], minlength=n_st)
    serving = caught > 0
    pairs = pairs[serving[pairs["st"].to_numpy()]]
    A = np.zeros(n_c)
    R = np.where(serving, S / np.where(serving, caught, 1.0), 0.0)
    if len(pairs):
        cost = pairs.assign(m=0.0)  # a binary catchment: the pairs are already within reach
        demand_df = pd.DataFrame({"cell": np.arange(n_c), "workers": P})
        supply_df = pd.DataFrame({"supply": S}, index=pd.Index(np.arange(n_st), name="st"))
        series = fca.two_stage_fca(demand_df=demand_df, supply_df=supply_df, cost_df=cost, max_cost=None,
                                   demand_index="cell", demand_name="workers", supply_index="st", supply_name="supply",
                                   cost_origin="cell", cost_dest="st", cost_name="m")
        A[series.index.to_numpy(dtype=np.int64)] = series.to_numpy(float)
    return A, R, caught


@dataclass
class AccessResult:
    """Load and 2SFCA of one coverage result."""

    stations: pd.DataFrame  # per active station: id, county_adcode, prefecture_adcode, lon, lat, load_workers, load_cells,
    #                          catchment_workers, ratio_per_1000 (1000 R_l)
    access_per_1000: np.ndarray  # per demand cell of the result: 1000 A_k (stations per 1,000 workers in reach)

    def county_summary(self) -> pd.DataFrame:
        """Per county with active stations: ``stations``, ``load_workers`` (sum), ``load_mean`` (per station),
        ``load_max``."""
        s = self.stations
        g = s.groupby(s["county_adcode"].astype(str), sort=True)["load_workers"]
        return pd.DataFrame({"stations": g.size(), "load_workers": g.sum(), "load_mean": g.mean(), "load_max": g.max()})


def accessibility(result, catchment=None) -> AccessResult:
    """Load and 2SFCA for a :class:`stations.coverage.CoverageResult`: its active stations, its demand cells
    and their radii (``radius_m``: the catchment of a cell is the service radius that applies to it). Give
    ``catchment`` (sparse, active stations x demand cells) to use another notion of reach (a road network)."""
    st = result.stations
    d = result.demand
    slon, slat = _lonlat(st)
    dlon, dlat = _lonlat(d)
    if catchment is None:
        catchment = catchment_matrix(slon, slat, dlon, dlat, d["radius_m"].to_numpy(float))
    A, R, caught = two_step_fca(d["workers"].to_numpy(float), catchment)
    load = station_load(result)
    out = pd.DataFrame({
        "id": load["id"].to_numpy(),
        "county_adcode": st["county_adcode"].astype(object).to_numpy() if "county_adcode" in st.columns else None,
        "prefecture_adcode": st["prefecture_adcode"].astype(object).to_numpy() if "prefecture_adcode" in st.columns else None,
        "lon": slon, "lat": slat,
        "load_workers": load["load_workers"].to_numpy(), "load_cells": load["load_cells"].to_numpy(),
        "catchment_workers": caught, "ratio_per_1000": PER_WORKERS * R,
    })
    if "name" in st.columns:
        out.insert(1, "name", st["name"].astype(str).to_numpy())
    return AccessResult(out, PER_WORKERS * A)


def top_loaded(access: AccessResult, k: int = 20) -> pd.DataFrame:
    """The ``k`` stations carrying the most load (ties: the lower id), highest first."""
    s = access.stations
    order = np.lexsort((s["id"].to_numpy(), -s["load_workers"].to_numpy()))
    return s.iloc[order[:k]].reset_index(drop=True)
