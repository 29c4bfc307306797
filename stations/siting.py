"""Where the next stations should go: maximal covering (MCLP) and set covering over the coverage model.

The model (in the style of PySAL ``spopt``'s ``MCLP``, built on :mod:`stations.coverage`):

* **Demand**: the points of a demand frame (the bundled grid of :mod:`stations.demand` or a user file), each
  with ``workers``; a point is *covered* as in :func:`stations.coverage.compute_coverage` (an active station
  -- open, and open at ``hour`` when given -- within the service radius, which may differ by area class).
* **Existing stations stay fixed**: demand they already cover is worth nothing to a new site.
* **Candidates**: by default the centres of the demand cells *in towns*, i.e. the cells whose
  ``area_class`` is ``town`` in the demand model: cells within the built-up footprint radius of a county
  seat or a GeoNames town (``docs/demand-model.md``, step 5). When the demand frame has no ``area_class``
  (a user demand file), the candidates are the demand points carrying the most workers, up to
  :data:`MAX_DEFAULT_CANDIDATES` of them. Or a user file of candidate hosts (bank branches, petrol
  stations, telecom shops, community centres): :func:`read_candidates` (CSV / XLSX / GeoJSON / GeoPackage,
  coordinates in WGS-84, GCJ-02 or BD-09).
* ``A`` is the sparse candidate x demand matrix of :func:`stations.coverage.coverage_matrix`.

Solvers, all on one :class:`MaxCover`:

* :meth:`MaxCover.solve_greedy` -- the greedy with lazy evaluation (CELF, Leskovec et al. 2007): marginal
  gains only shrink as sites are added (coverage is submodular), so a stale gain is an upper bound and only
  the candidate on top of the priority queue is re-evaluated. It returns the same sites as the plain greedy
  (:meth:`MaxCover.solve_greedy_naive`, which recomputes every gain at every step) and is within
  ``1 - 1/e`` (63.2 %) of the optimum (Nemhauser, Wolsey & Fisher 1978). Each greedy run also reports a
  data-dependent upper bound on the optimum: ``f(S_k) + sum of the n largest marginal gains at S_k``
  (submodularity), taken at the start and at the end of the run.
* :meth:`MaxCover.solve_exact` -- the MCLP integer program (Church & ReVelle 1974) solved with HiGHS
  (``highspy``): ``max sum_j w_j y_j`` s.t. ``y_j <= sum_{i covers j} x_i``, ``sum_i x_i <= n``,
  ``x`` binary, ``0 <= y <= 1``. The instance is reduced first: only candidates with a positive gain, only
  uncovered demand reachable by some candidate, demand points with the same set of covering candidates
  merged into one, identical candidates merged. It is warm-started with the greedy solution and stops at
  ``time_limit``; the result carries HiGHS' dual bound and the gap.
* :meth:`MaxCover.solve_set_cover` -- set-covering mode: the fewest new sites reaching a target coverage %
  (of all workers, existing coverage included), by the same greedy. Guarantee (Wolsey 1982, submodular set
  cover): the greedy uses at most ``(1 + ln(g_1 / g_k)) x OPT`` sites, where ``g_1`` is the first and
  ``g_k`` the last marginal gain of the run; with demand counted in whole units (cells) this is the classic
  ``H(m) <= 1 + ln m`` bound, ``m`` the most units one site covers. The result states the bound and a lower
  bound on OPT (``ceil(k / bound)`` and the fewest sites whose single-site gains could add up to the need).

Outputs: :class:`Recommendation` (from :func:`recommend`) -- the ranked sites (rank, marginal
``gain_workers``, cumulative covered, county, WGS-84 and GCJ-02 coordinates, nearest existing station and
its geodesic distance), the coverage before and after (:class:`stations.coverage.CoverageResult`), the
before/after tables by prefecture and county (:func:`stations.coverage.coverage_table`), the
coverage-versus-N curve (PNG / SVG) and downloads (CSV with BOM, XLSX, GeoJSON, GeoPackage).

For the print sheets: :func:`recommended_sites` ``(n, radius=1000, hour=None) -> GeoDataFrame``.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from . import coverage as C
from stations.errors import CandidateFileError, SitingError  # noqa: F401 (re-exported: the classes live in stations.errors)

log = logging.getLogger(__name__)

__all__ = [
    "MAX_DEFAULT_CANDIDATES",
    "SitingError",
    "CandidateFileError",
    "Solution",
    "MaxCover",
    "default_candidates",
    "read_candidates",
    "candidates_from_frame",
    "with_added_sites",
    "recommend",
    "Recommendation",
    "recommended_sites",
    "whatif",
    "SITE_COLUMNS",
]

MAX_DEFAULT_CANDIDATES = 20_000
MAX_CANDIDATE_ROWS = 50_000
#: the exact solver refuses reduced instances with more non-zeros than this (say so rather than hang)
MAX_EXACT_NNZ = 2_000_000
ONE_MINUS_INV_E = 1.0 - 1.0 / math.e
NEW_ID_PREFIX = "NEW-"

SITE_COLUMNS = (
    "rank",
    "candidate_id",
    "name",
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


# ---------------------------------------------------------------------------------------------------------
# solutions


@dataclass
class Solution:
    """Sites chosen by one solver, in the order chosen (greedy) or ranked by marginal gain (exact)."""

    method: str
    order: np.ndarray  # candidate indices (rows of the model's matrix)
    gains: np.ndarray  # marginal workers newly covered by each site, in order
    base_covered: float  # workers covered by the existing stations
    total: float  # all workers
    time_s: float = 0.0
    status: str = "ok"
    upper_bound: float | None = None  # on the optimal *added* coverage with len(order) (or n) sites
    extra: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.order)

    @property
    def objective(self) -> float:
        """Workers newly covered by the chosen sites."""
        return float(np.sum(self.gains)) if len(self.gains) else 0.0

    @property
    def covered(self) -> float:
        return self.base_covered + self.objective

    @property
    def covered_pct(self) -> float:
        return 100.0 * self.covered / self.total if self.total > 0 else 0.0

    @property
    def before_pct(self) -> float:
        return 100.0 * self.base_covered / self.total if self.total > 0 else 0.0

    def cumulative(self) -> np.ndarray:
        """Covered workers after 0, 1, ..., n sites."""
        return self.base_covered + np.concatenate([[0.0], np.cumsum(self.gains)])

    @property
    def gap(self) -> float | None:
        """Relative gap of this objective to the upper bound, when one is known."""
        if self.upper_bound is None:
            return None
        ub = float(self.upper_bound)
        return 0.0 if ub <= 0 else max(0.0, (ub - self.objective) / ub)

    def summary(self) -> dict:
        out = {
            "method": self.method,
            "sites": self.n,
            "objective_workers": round(self.objective, 3),
            "covered_workers": round(self.covered, 3),
            "covered_pct": round(self.covered_pct, 4),
            "time_s": round(self.time_s, 4),
            "status": self.status,
            "upper_bound": None if self.upper_bound is None else round(float(self.upper_bound), 3),
            "gap": None if self.gap is None else round(self.gap, 6),
        }
        out.update({k: v for k, v in self.extra.items() if isinstance(v, (int, float, str, bool, type(None)))})
        return out


# ---------------------------------------------------------------------------------------------------------
# the model


class MaxCover:
    """A maximal-covering instance: demand weights, the candidate x demand coverage matrix, and the demand
    already covered by the fixed existing stations.

    Build with :meth:`from_arrays` (tests, other sources) or :meth:`from_geodataframes` (the app)."""

    def __init__(self, weights, A, already_covered=None, candidates: pd.DataFrame | None = None, demand=None,
                 stations=None, radius=C.DEFAULT_RADIUS_M, hour: int | None = None, weekday: int = 2):
        w = np.asarray(weights, dtype=float).ravel()
        if w.size and (not np.isfinite(w).all() or (w < 0).any()):
            raise SitingError("demand weights must be finite and non-negative")
        A = sparse.csr_matrix(A)
        A.eliminate_zeros()  # an explicit False / 0 is no coverage
        if A.shape[1] != len(w):
            raise SitingError(f"the coverage matrix has {A.shape[1]} demand columns but there are {len(w)} weights")
        A.data = np.ones(len(A.data), dtype=np.float64)  # boolean -> 1.0 (duplicates summed below)
        A.sum_duplicates()
        A.data[:] = 1.0
        A.sort_indices()
        self.A = A
        self.weights = w
        cov = np.zeros(len(w), dtype=bool) if already_covered is None else np.asarray(already_covered, dtype=bool).ravel()
        if len(cov) != len(w):
            raise SitingError("already_covered must have one entry per demand point")
        self.covered0 = cov
        self.w_open = np.where(cov, 0.0, w)
        self.candidates = candidates
        self.demand = demand
        self.stations = stations
        self.radius = radius
        self.hour = hour
        self.weekday = weekday
        self._gains0: np.ndarray | None = None

    # ---- construction

    @classmethod
    def from_arrays(cls, demand_weights, coverage_csr_candidates, already_covered_mask=None) -> "MaxCover":
        """``demand_weights`` (n_d), ``coverage_csr_candidates`` (n_c x n_d, true where a candidate covers a
        demand point), ``already_covered_mask`` (n_d, demand covered by the fixed existing stations)."""
        return cls(demand_weights, coverage_csr_candidates, already_covered_mask)

    @classmethod
    def from_geodataframes(cls, demand: gpd.GeoDataFrame, candidates: pd.DataFrame | None = None,
                           stations: pd.DataFrame | None = None, radius=C.DEFAULT_RADIUS_M, hour: int | None = None,
                           weekday: int = 2) -> "MaxCover":
        """The instance for ``demand`` (needs ``lon``, ``lat``, ``workers``; ``area_class`` for per-class radii),
        ``candidates`` (``lon``/``lat`` or point geometry; default :func:`default_candidates`) and the
        existing ``stations`` (only the active ones count: open, and open at ``hour`` when given)."""
        C._check_radius(radius)
        if candidates is None:
            candidates = default_candidates(demand)
        dlon, dlat = C._lonlat(demand)
        r = C.radius_per_demand(demand, radius)
        if stations is not None and len(stations):
            act = C.active_stations(stations, hour=hour, weekday=weekday)
            slon, slat = C._lonlat(act)
            covered = C.covered_mask(dlon, dlat, slon, slat, r)
        else:
            act = stations
            covered = np.zeros(len(dlon), dtype=bool)
        clon, clat = C._lonlat(candidates)
        A = C.coverage_matrix(clon, clat, dlon, dlat, r)
        return cls(demand["workers"].to_numpy(float), A, covered, candidates=candidates, demand=demand, stations=act,
                   radius=radius, hour=hour, weekday=weekday)

    # ---- basic figures

    @property
    def n_candidates(self) -> int:
        return self.A.shape[0]

    @property
    def total(self) -> float:
        return float(self.weights.sum())

    @property
    def base_covered(self) -> float:
        return float(self.weights[self.covered0].sum())

    def gains0(self) -> np.ndarray:
        """Each candidate's gain on its own (workers it would newly cover)."""
        if self._gains0 is None:
            self._gains0 = np.asarray(self.A @ self.w_open).ravel()
        return self._gains0

    def max_added(self) -> float:
        """Workers coverable by opening every candidate."""
        reach = np.asarray(self.A.sum(axis=0)).ravel() > 0
        return float(self.w_open[reach].sum())

    def evaluate(self, sites) -> float:
        """Workers newly covered by opening ``sites`` (candidate indices) together."""
        sites = np.asarray(sites, dtype=np.int64)
        if len(sites) == 0:
            return 0.0
        reach = np.asarray(self.A[sites].sum(axis=0)).ravel() > 0
        return float(self.w_open[reach].sum())

    def _tol(self) -> float:
        return 1e-12 * max(self.total, 1.0)

    def _check_n(self, n) -> int:
        if isinstance(n, bool) or int(n) != n or int(n) < 0:
            raise SitingError(f"n must be a whole number >= 0, got {n!r}")
        return int(n)

    def _online_bound(self, w_rem: np.ndarray, covered_added: float, n: int) -> float:
        """Upper bound on the best added coverage with n sites: f(S) + sum of the n largest gains at S."""
        if n == 0:
            return 0.0
        g = np.asarray(self.A @ w_rem).ravel()
        if len(g) > n:
            top = np.partition(g, len(g) - n)[len(g) - n:]
        else:
            top = g
        return covered_added + float(top.sum())

    # ---- greedy

    def solve_greedy(self, n: int, progress: Callable[[int, int], None] | None = None, deadline: float | None = None,
                     stop_at: float | None = None, bound: bool = True) -> Solution:
        """Greedy with lazy evaluation (CELF): pick ``n`` sites, each the one adding the most uncovered
        workers. Stops early when no candidate adds anything, or (``stop_at``) once the added coverage reaches
        that many workers. ``deadline`` is a ``time.perf_counter()`` value past which :class:`TimeoutError` is
        raised. Ties go to the lower candidate index, as in :meth:`solve_greedy_naive`."""
        n = self._check_n(n)
        t0 = time.perf_counter()
        A = self.A
        indptr, indices = A.indptr, A.indices
        w = self.w_open.copy()
        g = self.gains0().copy()
        tol = self._tol()
        sel = np.flatnonzero(g > tol)
        sel = sel[np.lexsort((sel, -g[sel]))]  # sorted by gain, then index: already a heap
        heap = list(zip((-g[sel]).tolist(), sel.tolist()))
        fresh_at = np.zeros(A.shape[0], dtype=np.int64)  # the step at which each gain was last computed
        order: list[int] = []
        gains: list[float] = []
        evaluations = 0
        added = 0.0
        step = 0
        while len(order) < n and heap:
            if stop_at is not None and added >= stop_at - tol:
                break
            negg, i = heapq.heappop(heap)
            if fresh_at[i] == step:
                order.append(i)
                gains.append(-negg)
                added += -negg
                w[indices[indptr[i]:indptr[i + 1]]] = 0.0
                step += 1
                if progress is not None:
                    progress(len(order), n)
                if deadline is not None and time.perf_counter() > deadline:
                    raise TimeoutError(f"greedy stopped after {len(order)} of {n} sites: time limit reached")
            else:
                gi = float(w[indices[indptr[i]:indptr[i + 1]]].sum())
                evaluations += 1
                fresh_at[i] = step
                if gi > tol:
                    heapq.heappush(heap, (-gi, i))
        elapsed = time.perf_counter() - t0
        sol = Solution("greedy", np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=float), self.base_covered,
                       self.total, time_s=elapsed, extra={"gain_evaluations": evaluations})
        if len(order) < n and stop_at is None:
            sol.status = f"stopped at {len(order)} sites: no candidate adds coverage"
        if bound:
            sol.upper_bound = self._greedy_bound(n, w, sol)
        return sol

    def _greedy_bound(self, n: int, w_end: np.ndarray, sol: Solution) -> float:
        ub_start = self._online_bound(self.w_open, 0.0, n)
        ub_end = self._online_bound(w_end, sol.objective, n)
        ub_ratio = sol.objective / ONE_MINUS_INV_E
        ub = min(ub_start, ub_end, ub_ratio if len(sol.order) == n else math.inf, self.max_added())
        return max(ub, sol.objective)

    def solve_greedy_naive(self, n: int, progress=None) -> Solution:
        """The plain greedy (baseline): every candidate's gain recomputed at every step (a sparse
        matrix-vector product per step)."""
        n = self._check_n(n)
        t0 = time.perf_counter()
        A = self.A
        w = self.w_open.copy()
        tol = self._tol()
        order, gains = [], []
        for k in range(n):
            g = np.asarray(A @ w).ravel()
            i = int(np.argmax(g)) if len(g) else -1
            if i < 0 or g[i] <= tol:
                break
            order.append(i)
            gains.append(float(g[i]))
            w[A.indices[A.indptr[i]:A.indptr[i + 1]]] = 0.0
            if progress is not None:
                progress(k + 1, n)
        return Solution("greedy-naive", np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=float),
                        self.base_covered, self.total, time_s=time.perf_counter() - t0)

    # ---- reduction and the exact integer program

    def reduce(self):
        """The reduced instance for the integer program: ``(cand, B, W, stats)`` where ``cand`` are the kept
        candidate indices (positive gain; one of each group of identical candidates), ``B`` the kept-candidate
        x merged-demand 0/1 matrix (CSC) and ``W`` the merged demand weights."""
        tol = self._tol()
        g = self.gains0()
        cand = np.flatnonzero(g > tol)
        dem = np.flatnonzero(self.w_open > tol)
        B = self.A[cand][:, dem].tocsr()
        reach = np.asarray(B.sum(axis=0)).ravel() > 0
        dem = dem[reach]
        B = B[:, np.flatnonzero(reach)].tocsr()
        # identical candidates (same covered demand): keep the first
        B.sort_indices()
        seen: dict[bytes, int] = {}
        keep = []
        for r in range(B.shape[0]):
            key = B.indices[B.indptr[r]:B.indptr[r + 1]].tobytes()
            if key not in seen:
                seen[key] = r
                keep.append(r)
        keep = np.asarray(keep, dtype=np.int64)
        cand = cand[keep]
        B = B[keep]
        # demand points covered by the same candidates: one merged point
        Bc = B.tocsc()
        Bc.sort_indices()
        groups: dict[bytes, int] = {}
        label = np.empty(Bc.shape[1], dtype=np.int64)
        for j in range(Bc.shape[1]):
            key = Bc.indices[Bc.indptr[j]:Bc.indptr[j + 1]].tobytes()
            label[j] = groups.setdefault(key, len(groups))
        m = len(groups)
        W = np.bincount(label, weights=self.w_open[dem], minlength=m)
        first = np.full(m, -1, dtype=np.int64)
        first[label[::-1]] = np.arange(len(label))[::-1]
        Bm = Bc[:, first].tocsc()
        stats = {"candidates": int(self.A.shape[0]), "candidates_reduced": int(len(cand)), "demand": int(len(self.weights)),
                 "demand_reduced": int(m), "nnz_reduced": int(Bm.nnz)}
        return cand, Bm, W, stats

    def solve_exact(self, n: int, time_limit: float = 60.0, mip_rel_gap: float = 1e-6, warm_start: Solution | None = None,
                    max_nnz: int = MAX_EXACT_NNZ, threads: int | None = None) -> Solution:
        """The MCLP integer program with HiGHS (``highspy``) on the reduced instance (see :meth:`reduce`),
        warm-started with ``warm_start`` (default: the greedy). Status ``optimal`` when HiGHS proves
        optimality within ``mip_rel_gap``; ``time limit`` otherwise, with the incumbent and the dual bound
        (``upper_bound``) so the gap is known. Raises :class:`SitingError` when the reduced instance has more
        than ``max_nnz`` non-zeros."""
        import highspy

        n = self._check_n(n)
        t0 = time.perf_counter()
        cand, B, W, stats = self.reduce()
        nc, m = B.shape
        if B.nnz > max_nnz:
            raise SitingError(f"instance too large for the exact solver: {B.nnz:,} non-zeros after reduction "
                              f"(limit {max_nnz:,}); use the greedy")
        if warm_start is None:
            warm_start = self.solve_greedy(n, bound=False)
        if n == 0 or nc == 0 or m == 0:
            sol = Solution("exact", np.zeros(0, dtype=np.int64), np.zeros(0), self.base_covered, self.total,
                           time_s=time.perf_counter() - t0, status="optimal", upper_bound=0.0, extra=dict(stats))
            return sol
        if n >= nc:  # every useful candidate fits
            chosen = cand
            sol = self._ranked("exact", chosen)
            sol.status, sol.upper_bound, sol.time_s = "optimal", sol.objective, time.perf_counter() - t0
            sol.extra.update(stats)
            return sol
        # columns: x_0..x_{nc-1} (binary), y_0..y_{m-1} (continuous); rows: m coverage rows, 1 cardinality row
        Bx = sparse.csr_matrix(B)  # nc x m: the coverage rows each x_i appears in
        Bx.sort_indices()
        starts = np.empty(nc + m + 1, dtype=np.int64)
        x_len = np.diff(Bx.indptr) + 1
        starts[0] = 0
        starts[1:nc + 1] = np.cumsum(x_len)
        starts[nc + 1:] = starts[nc] + np.arange(1, m + 1)
        idx = np.empty(starts[-1], dtype=np.int32)
        val = np.empty(starts[-1], dtype=np.float64)
        pos = starts[:nc]
        # x columns: coverage rows then the cardinality row
        for_rows = np.repeat(np.arange(nc), np.diff(Bx.indptr))
        offs = np.arange(Bx.nnz) - np.repeat(Bx.indptr[:-1], np.diff(Bx.indptr))
        idx[pos[for_rows] + offs] = Bx.indices
        val[pos[for_rows] + offs] = -1.0
        idx[starts[1:nc + 1] - 1] = m
        val[starts[1:nc + 1] - 1] = 1.0
        idx[starts[nc:nc + m]] = np.arange(m)
        val[starts[nc:nc + m]] = 1.0

        lp = highspy.HighsLp()
        lp.num_col_ = nc + m
        lp.num_row_ = m + 1
        lp.col_cost_ = np.concatenate([np.zeros(nc), W])
        lp.col_lower_ = np.zeros(nc + m)
        lp.col_upper_ = np.ones(nc + m)
        lp.row_lower_ = np.full(m + 1, -highspy.kHighsInf)
        lp.row_upper_ = np.concatenate([np.zeros(m), [float(n)]])
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = starts
        lp.a_matrix_.index_ = idx
        lp.a_matrix_.value_ = val
        lp.integrality_ = [highspy.HighsVarType.kInteger] * nc + [highspy.HighsVarType.kContinuous] * m
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(max(time_limit - (time.perf_counter() - t0), 1.0)))
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        if threads:
            h.setOptionValue("threads", int(threads))
        h.passModel(lp)
        # warm start from the greedy: map its sites to kept candidates (an identical twin when merged away)
        try:
            x0 = self._start_vector(warm_start.order, cand, B)
            if x0.sum() <= n:
                y0 = (np.asarray(B.T @ x0).ravel() > 0).astype(float)
                _set_start(h, x0, y0)
        except Exception as exc:  # a warm start is only a help
            log.debug("no warm start: %s", exc)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        status_text = h.modelStatusToString(status)
        values = np.asarray(h.getSolution().col_value[:nc], dtype=float)
        if len(values) == nc and values.sum() <= n + 0.5:
            chosen = cand[values > 0.5]
        else:  # no integer solution came back (e.g. stopped before the warm start was read): keep the greedy's
            chosen = warm_start.order
        sol = self._ranked("exact", chosen)
        sol.time_s = time.perf_counter() - t0
        sol.status = "optimal" if status == highspy.HighsModelStatus.kOptimal else status_text.lower()
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
        if sol.status == "optimal":
            bound = sol.objective if bound is None else max(sol.objective, min(bound, sol.objective * (1 + mip_rel_gap)))
        sol.upper_bound = bound
        sol.extra.update(stats)
        sol.extra["mip_gap"] = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
        sol.extra["nodes"] = int(info.mip_node_count)
        return sol

    def _start_vector(self, order, cand: np.ndarray, B) -> np.ndarray:
        """0/1 vector over the kept candidates ``cand`` for the sites in ``order`` (a greedy solution);
        a site merged away in the reduction is mapped to its identical twin."""
        pos_of = {int(c): k for k, c in enumerate(cand)}
        x0 = np.zeros(len(cand))
        for site in order:
            k = pos_of.get(int(site))
            if k is None:
                k = self._twin(int(site), cand, B)
            if k is not None:
                x0[k] = 1.0
        return x0

    def _twin(self, s: int, cand: np.ndarray, B) -> int | None:
        row = self.A[s]
        for k in np.flatnonzero(np.asarray(self.gains0()[cand]) == self.gains0()[s]):
            if (self.A[int(cand[k])] != row).nnz == 0:
                return int(k)
        return None

    def _ranked(self, method: str, chosen) -> Solution:
        """A solution for a given set of sites, ordered greedily within the set (each next the one adding the
        most), so ``gains`` are marginal and sum to the set's coverage."""
        chosen = [int(c) for c in chosen]
        w = self.w_open.copy()
        A = self.A
        order, gains = [], []
        left = list(chosen)
        while left:
            g = [float(w[A.indices[A.indptr[i]:A.indptr[i + 1]]].sum()) for i in left]
            k = int(np.argmax(g))
            i = left.pop(k)
            order.append(i)
            gains.append(g[k])
            w[A.indices[A.indptr[i]:A.indptr[i + 1]]] = 0.0
        return Solution(method, np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=float), self.base_covered,
                        self.total)

    # ---- set covering

    def solve_set_cover(self, target_pct: float, max_sites: int | None = None, progress=None,
                        deadline: float | None = None) -> Solution:
        """The fewest new sites (greedy) bringing coverage to ``target_pct`` % of all workers (existing
        coverage counts). ``extra`` holds ``reached``, ``needed_workers``, the Wolsey ratio
        ``bound_ratio = 1 + ln(g_1/g_k)`` (greedy sites <= ratio x optimum) and ``lower_bound_sites``."""
        try:
            target_pct = float(target_pct)
        except (TypeError, ValueError):
            raise SitingError(f"target_pct must be a number, got {target_pct!r}") from None
        if not (0 < target_pct <= 100) or not math.isfinite(target_pct):
            raise SitingError(f"target_pct must be between 0 and 100, got {target_pct:g}")
        need = target_pct / 100.0 * self.total - self.base_covered
        tol = self._tol() * 1e3
        limit = self.n_candidates if max_sites is None else self._check_n(max_sites)
        t0 = time.perf_counter()
        if need <= tol:
            sol = Solution("set-cover-greedy", np.zeros(0, dtype=np.int64), np.zeros(0), self.base_covered, self.total)
            sol.extra.update(reached=True, needed_workers=0.0, target_pct=target_pct, bound_ratio=1.0, lower_bound_sites=0,
                             guarantee="the existing stations already reach the target")
            return sol
        sol = self.solve_greedy(limit, progress=progress, deadline=deadline, stop_at=need - tol, bound=False)
        sol.method = "set-cover-greedy"
        sol.time_s = time.perf_counter() - t0
        reached = sol.objective >= need - tol
        k = sol.n
        ratio = 1.0 + math.log(sol.gains[0] / sol.gains[-1]) if k else 1.0
        g0 = np.sort(self.gains0())[::-1]
        csum = np.cumsum(g0)
        single = int(np.searchsorted(csum, need - tol) + 1) if reached else None
        lb = max(math.ceil(k / ratio), single or 0) if reached else None
        sol.status = "target reached" if reached else (
            f"target not reachable with these candidates: at most {100 * (self.base_covered + self.max_added()) / self.total:.2f} %"
            if max_sites is None or k < limit else f"target not reached within {limit} sites")
        sol.extra.update(
            reached=bool(reached), needed_workers=float(need), target_pct=target_pct, bound_ratio=float(ratio),
            lower_bound_sites=lb,
            guarantee=(f"greedy set cover (Wolsey 1982): at most (1 + ln(g1/gk)) = {ratio:.3f} x the optimal number of "
                       f"sites; so the optimum needs at least {lb} sites" if reached else "target not reached"),
        )
        return sol


    def solve_set_cover_exact(self, target_pct: float, time_limit: float = 60.0, warm_start: Solution | None = None,
                              max_nnz: int = MAX_EXACT_NNZ, threads: int | None = None) -> Solution:
        """The fewest new sites reaching ``target_pct`` % as an integer program (HiGHS) on the reduced instance
        (:meth:`reduce`): ``min Σ x_i`` s.t. ``y_j ≤ Σ_{i covers j} x_i``, ``Σ w_j y_j ≥ need``, x binary,
        0 ≤ y ≤ 1; warm-started with ``warm_start`` (default: the greedy set cover). Status ``optimal``, ``time
        limit`` (the incumbent, with ``extra["lower_bound_sites"]`` from HiGHS' dual bound) or ``infeasible``
        (the target is out of reach). Raises :class:`SitingError` when the reduced instance has more than
        ``max_nnz`` non-zeros."""
        import highspy

        t0 = time.perf_counter()
        if warm_start is None:
            warm_start = self.solve_set_cover(target_pct)
        need = float(target_pct) / 100.0 * self.total - self.base_covered
        tol = self._tol() * 1e3
        cand, B, W, stats = self.reduce()
        nc, m = B.shape
        if B.nnz > max_nnz:
            raise SitingError(f"instance too large for the exact solver: {B.nnz:,} non-zeros after reduction "
                              f"(limit {max_nnz:,}); use the greedy")

        def done(chosen, status, lb):
            sol = self._ranked("set-cover-exact", chosen)
            sol.status, sol.time_s = status, time.perf_counter() - t0
            sol.extra.update(stats)
            sol.extra.update(reached=bool(status != "infeasible" and sol.objective >= need - tol), target_pct=float(target_pct),
                             needed_workers=float(max(need, 0.0)), lower_bound_sites=lb)
            return sol

        if need <= tol:
            return done([], "optimal", 0)
        if float(W.sum()) < need - tol or nc == 0:
            return done([], "infeasible", None)
        # columns x_0..x_{nc-1} (binary, cost 1), y_0..y_{m-1} (continuous); rows: m linking rows, 1 target row
        Bt = sparse.csr_matrix(B).T.tocsr()  # m x nc
        link = sparse.hstack([-Bt, sparse.identity(m, format="csr")], format="csr")
        target_row = sparse.csr_matrix(np.concatenate([np.zeros(nc), W])[None, :])
        A = sparse.vstack([link, target_row], format="csc")
        A.sort_indices()
        lp = highspy.HighsLp()
        lp.num_col_ = nc + m
        lp.num_row_ = m + 1
        lp.col_cost_ = np.concatenate([np.ones(nc), np.zeros(m)])
        lp.col_lower_ = np.zeros(nc + m)
        lp.col_upper_ = np.ones(nc + m)
        lp.row_lower_ = np.concatenate([np.full(m, -highspy.kHighsInf), [need - tol]])
        lp.row_upper_ = np.concatenate([np.zeros(m), [highspy.kHighsInf]])
        lp.sense_ = highspy.ObjSense.kMinimize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int64)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(np.float64)
        lp.integrality_ = [highspy.HighsVarType.kInteger] * nc + [highspy.HighsVarType.kContinuous] * m
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(max(time_limit - (time.perf_counter() - t0), 1.0)))
        if threads:
            h.setOptionValue("threads", int(threads))
        h.passModel(lp)
        try:  # warm start from the greedy's sites
            x0 = self._start_vector(warm_start.order, cand, B)
            y0 = (np.asarray(B.T @ x0).ravel() > 0).astype(float)
            if float(W @ y0) >= need - tol:
                _set_start(h, x0, y0)
        except Exception as exc:  # a warm start is only a help
            log.debug("no warm start: %s", exc)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        if status == highspy.HighsModelStatus.kInfeasible:
            return done([], "infeasible", None)
        values = np.asarray(h.getSolution().col_value[:nc], dtype=float)
        chosen = cand[values > 0.5] if len(values) == nc else np.zeros(0, dtype=np.int64)
        if self.evaluate(chosen) < need - tol:  # no integer solution came back: keep the greedy's
            chosen = warm_start.order if warm_start.extra.get("reached") else chosen
        optimal = status == highspy.HighsModelStatus.kOptimal
        dual = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
        lb = len(chosen) if optimal else (None if dual is None else int(math.ceil(dual - 1e-6)))
        sol = done(chosen, "optimal" if optimal else h.modelStatusToString(status).lower(), lb)
        sol.extra["nodes"] = int(info.mip_node_count)
        return sol


# ---------------------------------------------------------------------------------------------------------
# candidates


def default_candidates(demand: pd.DataFrame, max_candidates: int = MAX_DEFAULT_CANDIDATES) -> pd.DataFrame:
    """Default candidate sites: the centres of the demand cells in towns (``area_class == "town"``: within
    the built-up footprint of a county seat or GeoNames town in the demand model). Without an
    ``area_class`` column (user demand), the heaviest demand points, at most ``max_candidates``."""
    d = demand
    if "area_class" in d.columns and (d["area_class"] == "town").any():
        sel = np.flatnonzero((d["area_class"] == "town").to_numpy() & (d["workers"].to_numpy(float) > 0))
        kind = "town cell"
    else:
        w = d["workers"].to_numpy(float)
        sel = np.flatnonzero(w > 0)
        if len(sel) > max_candidates:
            sel = sel[np.argsort(-w[sel], kind="stable")[:max_candidates]]
            sel.sort()
        kind = "demand point"
    lon, lat = C._lonlat(d.iloc[sel])
    ids = d["h3"].astype(str).to_numpy()[sel] if "h3" in d.columns else np.array([f"D{i}" for i in sel])
    out = pd.DataFrame({
        "candidate_id": ids,
        "name": [f"{kind} {i}" for i in ids],
        "lon": lon,
        "lat": lat,
        "county_adcode": d["county_adcode"].to_numpy(dtype=object)[sel] if "county_adcode" in d.columns else None,
        "prefecture_adcode": d["prefecture_adcode"].to_numpy(dtype=object)[sel] if "prefecture_adcode" in d.columns else None,
    })
    return out.reset_index(drop=True)


def _locate(lon, lat) -> np.ndarray:
    try:
        from . import geo

        return np.asarray(geo.locate_counties(np.asarray(lon, float), np.asarray(lat, float)), dtype=object)
    except Exception as exc:
        log.warning("could not locate counties: %s", exc)
        return np.full(len(lon), None, dtype=object)


def candidates_from_frame(lon, lat, ids=None, names=None, county_adcode=None) -> pd.DataFrame:
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    if county_adcode is None:
        county_adcode = _locate(lon, lat)
    codes = pd.Series(county_adcode, dtype=object).to_numpy()
    pref = np.array([None if c is None or (isinstance(c, float) and np.isnan(c)) else str(c)[:4] + "00" for c in codes], dtype=object)
    n = len(lon)
    return pd.DataFrame({
        "candidate_id": list(ids) if ids is not None else [f"C{i + 1}" for i in range(n)],
        "name": list(names) if names is not None else [""] * n,
        "lon": lon,
        "lat": lat,
        "county_adcode": codes,
        "prefecture_adcode": pref,
    })


def read_candidates(path, crs: str = "wgs84", max_rows: int = MAX_CANDIDATE_ROWS) -> pd.DataFrame:
    """Candidate host sites from CSV (UTF-8/GBK, lon/lat or 经度/纬度 columns), XLSX, GeoJSON or GeoPackage
    (points). ``crs`` is the datum of the coordinates: ``wgs84``, ``gcj02`` (Amap/Tencent) or ``bd09``
    (Baidu); they are converted to WGS-84. Optional ``id`` and ``name`` columns (any header the station
    importer knows: 编号, 名称 ...). Raises :class:`CandidateFileError` naming the rows at fault (header =
    row 1 for CSV/XLSX; features from 1 for GeoJSON/GeoPackage): empty file, no coordinate columns, missing
    or non-numeric coordinates, not degrees, swapped longitude/latitude, outside Yunnan, too many rows."""
    from .coords import convert_to_wgs84
    from .importer import YUNNAN_LAT, YUNNAN_LON, ImportFileError, RowError, map_columns, read_table

    path = Path(path)
    try:
        convert_to_wgs84(0.0, 0.0, crs)
    except ValueError as exc:
        raise CandidateFileError(str(exc)) from None
    try:
        table, kind, first_row = read_table(path)
    except ImportFileError as exc:
        raise CandidateFileError(str(exc)) from None
    if len(table) == 0:
        raise CandidateFileError(f"{path.name}: no candidate rows (header only?)")
    if len(table) > max_rows:
        raise CandidateFileError(f"{path.name}: {len(table):,} rows; at most {max_rows:,} candidates per file")
    fields, _ = map_columns([c for c in table.columns if not str(c).startswith("__")])
    if "__lon" in table.columns:
        xcol, ycol = "__lon", "__lat"
    else:
        xcol, ycol = fields.get("lon"), fields.get("lat")
        if xcol is None or ycol is None:
            raise CandidateFileError(f"{path.name}: need longitude and latitude columns (lon/lat, lng, 经度/纬度); "
                                     f"found {list(table.columns)}")
    errors: list = []
    lon = np.full(len(table), np.nan)
    lat = np.full(len(table), np.nan)
    for k, (xs, ys) in enumerate(zip(table[xcol].astype(str), table[ycol].astype(str))):
        row = k + first_row
        try:
            x = float(xs.strip())
        except ValueError:
            errors.append(RowError(row, "lon" if xcol == "__lon" else xcol, f"longitude {xs.strip()!r} is missing or not a number"))
            continue
        try:
            y = float(ys.strip())
        except ValueError:
            errors.append(RowError(row, "lat" if ycol == "__lat" else ycol, f"latitude {ys.strip()!r} is missing or not a number"))
            continue
        if YUNNAN_LON[0] <= y <= YUNNAN_LON[1] and YUNNAN_LAT[0] <= x <= YUNNAN_LAT[1]:
            errors.append(RowError(row, "lon/lat", f"({x:g}, {y:g}): longitude and latitude look swapped"))
            continue
        if not (math.isfinite(x) and math.isfinite(y)) or abs(x) > 180 or abs(y) > 90:
            errors.append(RowError(row, "lon/lat", f"({x:g}, {y:g}) are not longitude/latitude degrees (projected metres? wrong CRS)"))
            continue
        wx, wy = convert_to_wgs84(x, y, crs)
        if not (YUNNAN_LON[0] <= wx <= YUNNAN_LON[1] and YUNNAN_LAT[0] <= wy <= YUNNAN_LAT[1]):
            errors.append(RowError(row, "lon/lat", f"({x:g}, {y:g}) lies outside Yunnan"))
            continue
        lon[k], lat[k] = float(wx), float(wy)
    if errors:
        raise CandidateFileError(f"{path.name}: {len({e.row for e in errors})} bad rows", errors)
    ids = None
    if "id" in fields:
        raw = table[fields["id"]].astype(str).str.strip()
        if (raw != "").all() and raw.is_unique:
            ids = raw.tolist()
    names = table[fields["name"]].astype(str).str.strip().tolist() if "name" in fields else None
    return candidates_from_frame(lon, lat, ids=ids, names=names)


# ---------------------------------------------------------------------------------------------------------
# stations with added sites, recommendations


def _open_24h_json() -> str:
    from .hours import parse_hours

    return parse_hours("24小时").to_json()


def _hours_of(hours, k: int) -> tuple[list[str], list[str]]:
    """(opening_hours text, hours_json) for ``k`` hypothetical stations: ``hours`` is None (all 24 hours) or a
    sequence of None / opening-hours text / :class:`stations.hours.OpeningHours`, one per station. Raises
    :class:`stations.hours.HoursParseError` (message prefixed with the station's position) for bad text."""
    from .hours import HoursParseError, OpeningHours, parse_hours

    h24 = _open_24h_json()
    if hours is None:
        return ["24小时"] * k, [h24] * k
    hours = list(hours)
    if len(hours) != k:
        raise ValueError(f"hours: {len(hours)} values for {k} sites")
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
                raise HoursParseError(f"site {i + 1}: {exc}") from None
            texts.append(str(h).strip())
            js.append(oh.to_json())
    return texts, js


def with_added_sites(stations: pd.DataFrame | None, lon, lat, ids=None, county_adcode=None, close=None,
                     hours=None) -> gpd.GeoDataFrame:
    """``stations`` plus hypothetical open stations at (lon, lat) (ids ``NEW-001``...), with the stations whose
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
        new = pd.DataFrame({
            "id": list(ids) if ids is not None else [f"{NEW_ID_PREFIX}{i + 1:03d}" for i in range(len(lon))],
            "name": [f"建议站点 {i + 1}" for i in range(len(lon))],
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


@dataclass
class Recommendation:
    """The answer to one siting request."""

    model: MaxCover
    solution: Solution  # the one the sites come from (greedy, or exact when it is better)
    greedy: Solution
    exact: Solution | None
    sites: gpd.GeoDataFrame
    before: C.CoverageResult
    after: C.CoverageResult
    mode: str = "max-cover"  # or "set-cover"

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
        if self.mode == "set-cover":
            for k in ("reached", "target_pct", "bound_ratio", "lower_bound_sites", "guarantee"):
                s[k] = self.greedy.extra.get(k)
            s["greedy_sites"] = int(self.greedy.n)
            if self.exact is not None and self.exact.status == "optimal" and self.exact.extra.get("reached"):
                s["lower_bound_sites"] = int(self.exact.n)
        else:
            ub = self.greedy.upper_bound
            s["guarantee"] = ("greedy maximal covering (Nemhauser, Wolsey & Fisher 1978): at least (1 - 1/e) = 63.2% of the "
                              "optimum" + (f"; here at least {100 * self.greedy.objective / ub:.1f}% of the upper bound "
                                           f"+{ub:,.0f}" if ub else ""))
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
        from .cartography.charts import coverage_curve  # the chart is drawn by cartography

        return coverage_curve(self, out, lang=lang)

    def export(self, out, fmt: str | None = None, geography: C.Geography | None = None) -> list[Path]:
        """Write the sites as CSV (UTF-8 with BOM), XLSX (sheets: sites, prefectures, counties, summary),
        GeoJSON (the sites) or GeoPackage (layers: sites, counties and prefectures with before/after). CSV
        gets two siblings: ``<stem>-prefectures.csv`` and ``<stem>-counties.csv``."""
        from .export import atomic_path, format_from_path, write_table

        out = Path(out)
        fmt = format_from_path(out, fmt)
        sites = _rounded_sites(self.sites)
        written = [out]
        if fmt == "csv":
            write_table(sites, "csv", out)
            for by, plural in (("prefecture", "prefectures"), ("county", "counties")):
                p = out.with_name(f"{out.stem}-{plural}.csv")
                write_table(self.tables(by, geography), "csv", p)
                written.append(p)
        elif fmt == "xlsx":
            with atomic_path(out) as tmp:
                with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                    pd.DataFrame(sites.drop(columns="geometry")).to_excel(xw, index=False, sheet_name="sites")
                    self.tables("prefecture", geography).to_excel(xw, index=False, sheet_name="prefectures")
                    self.tables("county", geography).to_excel(xw, index=False, sheet_name="counties")
                    summ = self.summary()
                    flat = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v) for k, v in summ.items()}
                    pd.DataFrame({"key": list(flat), "value": [str(v) for v in flat.values()]}).to_excel(xw, index=False, sheet_name="summary")
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


def _rounded_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    s = sites.copy()
    for col, nd in (("gain_workers", 2), ("cumulative_covered", 1), ("cumulative_pct", 3), ("lon", 6), ("lat", 6),
                    ("lon_gcj02", 6), ("lat_gcj02", 6), ("nearest_station_m", 1)):
        if col in s.columns:
            s[col] = s[col].astype(float).round(nd)
    return s


def _sites_frame(model: MaxCover, sol: Solution) -> gpd.GeoDataFrame:
    from .coords import wgs84_to_gcj02

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
    df = pd.DataFrame({
        "rank": np.arange(1, len(c) + 1),
        "candidate_id": c["candidate_id"].astype(str).to_numpy() if "candidate_id" in c.columns else sol.order.astype(str),
        "name": c["name"].astype(str).to_numpy() if "name" in c.columns else [""] * len(c),
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
              max_sites: int | None = None, model: MaxCover | None = None) -> Recommendation:
    """Recommend sites: the best ``n`` (maximal covering) or the fewest reaching ``target_pct`` (set
    covering; ``max_sites`` caps it). ``exact``: False, True, or ``"auto"`` (only when the reduced instance
    is within :data:`MAX_EXACT_NNZ`); when the exact solver finds more than the greedy, its sites are used."""
    if (n is None) == (target_pct is None):
        raise SitingError("give either n (number of sites) or target_pct (coverage target), not both")
    if demand is None:
        from .demand import load_demand

        demand = load_demand()
    if model is None:
        model = MaxCover.from_geodataframes(demand, candidates, stations, radius, hour, weekday)
    ex = None
    if n is not None:
        greedy = model.solve_greedy(n, progress=progress, deadline=deadline)
        chosen = greedy
        if exact:
            try:
                ex = model.solve_exact(n, time_limit=time_limit, warm_start=greedy)
            except SitingError:
                if exact != "auto":
                    raise
            if ex is not None and ex.objective > greedy.objective + model._tol():
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
    return Recommendation(model, chosen, greedy, ex, sites, before, after, mode)


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


def recommended_sites(n: int, radius=C.DEFAULT_RADIUS_M, hour: int | None = None, *, stations=None, demand=None,
                      candidates=None) -> gpd.GeoDataFrame:
    """The ``n`` recommended sites (greedy, default town-cell candidates, the registry's stations and the
    bundled demand unless given) as a GeoDataFrame in EPSG:4326 with :data:`SITE_COLUMNS` -- for the print
    sheets and anyone else."""
    if stations is None:
        from .registry import Registry

        stations = Registry().load()
    if demand is None:
        from .demand import load_demand

        demand = load_demand()
    model = MaxCover.from_geodataframes(demand, candidates, stations, radius, hour)
    return _sites_frame(model, model.solve_greedy(n, bound=False))


def _set_start(h, x0: np.ndarray, y0: np.ndarray) -> None:
    """Give HiGHS a feasible starting solution (site variables ``x0``, covered-demand variables ``y0``)."""
    import highspy

    hs = highspy.HighsSolution()
    hs.col_value = list(np.concatenate([x0, y0]))
    hs.value_valid = True
    h.setSolution(hs)
