"""The maximal-covering model and its greedy solvers.

:class:`MaxCover` holds one instance: demand weights, the sparse candidate x demand coverage matrix
(:func:`stations.coverage.coverage_matrix`) and the demand the fixed existing stations already cover. Its
greedy solvers are here (the lazy CELF greedy, the plain greedy, the greedy set cover); the integer programs
come from :class:`stations.siting.exact.ExactSolvers`. See :mod:`stations.siting` for the guarantees.
"""

from __future__ import annotations

import heapq
import math
import time
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from .. import coverage as C
from ..budget import check_coverage_pairs
from ..errors import SitingError
from .candidates import default_candidates
from .exact import ExactSolvers
from .solution import Solution
from .swap import SWAP_TIME_LIMIT, improve

__all__ = ["ONE_MINUS_INV_E", "MaxCover"]

ONE_MINUS_INV_E = 1.0 - 1.0 / math.e


class MaxCover(ExactSolvers):
    """A maximal-covering instance: demand weights, the candidate x demand coverage matrix, and the demand
    already covered by the fixed existing stations.

    Build with :meth:`from_arrays` (tests, other sources) or :meth:`from_geodataframes` (the app)."""

    def __init__(self, weights, A, already_covered=None, candidates: pd.DataFrame | None = None, demand=None,
                 stations=None, radius=C.DEFAULT_RADIUS_M, hour: int | None = None, weekday: int = 2):
        w = np.asarray(weights, dtype=float).ravel()
        if w.size and (not np.isfinite(w).all() or (w < 0).any()):
            raise SitingError("demand weights must be finite and non-negative", param="demand")
        A = sparse.csr_matrix(A)
        A.eliminate_zeros()  # an explicit False / 0 is no coverage
        if A.shape[1] != len(w):
            raise SitingError(f"the coverage matrix has {A.shape[1]} demand columns but there are {len(w)} weights",
                              param="demand")
        A.data = np.ones(len(A.data), dtype=np.float64)  # boolean -> 1.0 (duplicates summed below)
        A.sum_duplicates()
        A.data[:] = 1.0
        A.sort_indices()
        self.A = A
        self.weights = w
        cov = np.zeros(len(w), dtype=bool) if already_covered is None else np.asarray(already_covered, dtype=bool).ravel()
        if len(cov) != len(w):
            raise SitingError("already_covered must have one entry per demand point", param="stations")
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
                           weekday: int = 2, max_pairs=None) -> "MaxCover":
        """The instance for ``demand`` (needs ``lon``, ``lat``, ``workers``; ``area_class`` for per-class radii),
        ``candidates`` (``lon``/``lat`` or point geometry; default :func:`default_candidates`) and the
        existing ``stations`` (only the active ones count: open, and open at ``hour`` when given).

        ``max_pairs`` (a :class:`stations.limits.Limit` or a number; None: no limit) bounds the coverage matrix:
        its non-zeros are counted first (:func:`stations.budget.check_coverage_pairs`) and a larger instance is
        refused with :class:`stations.errors.LimitError` before anything big is allocated."""
        C._check_radius(radius)
        if candidates is None:
            candidates = default_candidates(demand)
        dlon, dlat = C._lonlat(demand)
        r = C.radius_per_demand(demand, radius)
        clon, clat = C._lonlat(candidates)
        if max_pairs is not None:
            check_coverage_pairs(dlon, dlat, clon, clat, r, max_pairs)
        if stations is not None and len(stations):
            act = C.active_stations(stations, hour=hour, weekday=weekday)
            slon, slat = C._lonlat(act)
            covered = C.covered_mask(dlon, dlat, slon, slat, r)
        else:
            act = stations
            covered = np.zeros(len(dlon), dtype=bool)
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

    def _check_n(self, n, param: str = "n") -> int:
        if isinstance(n, bool) or int(n) != n or int(n) < 0:
            raise SitingError(f"{param} must be a whole number >= 0, got {n!r}", param=param)
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

    def _ranked(self, method: str, chosen) -> Solution:
        """A solution for a given set of sites, ordered greedily within the set (each next the one adding the
        most; ties to the earlier in ``chosen``), so ``gains`` are marginal and sum to the set's coverage.
        Lazy evaluation (as :meth:`solve_greedy`): the same order as recomputing every gain at every step."""
        chosen = [int(c) for c in chosen]
        w = self.w_open.copy()
        indptr, indices = self.A.indptr, self.A.indices
        heap = [(-float(w[indices[indptr[i]:indptr[i + 1]]].sum()), p) for p, i in enumerate(chosen)]
        heapq.heapify(heap)
        fresh_at = [0] * len(chosen)
        order, gains = [], []
        while heap:
            negg, p = heapq.heappop(heap)
            i = chosen[p]
            if fresh_at[p] == len(order):
                order.append(i)
                gains.append(-negg)
                w[indices[indptr[i]:indptr[i + 1]]] = 0.0
            else:
                fresh_at[p] = len(order)
                heapq.heappush(heap, (-float(w[indices[indptr[i]:indptr[i + 1]]].sum()), p))
        return Solution(method, np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=float), self.base_covered,
                        self.total)

    def solve_greedy_swap(self, n: int, progress: Callable[[int, int], None] | None = None, deadline: float | None = None,
                          time_limit: float | None = None, pairs: bool = True) -> Solution:
        """The lazy greedy (:meth:`solve_greedy`, which raises :class:`TimeoutError` past ``deadline``), then the
        swap local search of :func:`stations.siting.swap.improve` until a local optimum, ``deadline`` or
        ``time_limit`` seconds (default :data:`~stations.siting.swap.SWAP_TIME_LIMIT`): method ``greedy+swap``,
        never worse than the greedy."""
        greedy = self.solve_greedy(n, progress=progress, deadline=deadline)
        return improve(self, greedy, deadline=deadline, time_limit=SWAP_TIME_LIMIT if time_limit is None else time_limit,
                       pairs=pairs)

    # ---- set covering

    def solve_set_cover(self, target_pct: float, max_sites: int | None = None, progress=None,
                        deadline: float | None = None) -> Solution:
        """The fewest new sites (greedy) bringing coverage to ``target_pct`` % of all workers (existing
        coverage counts). ``extra`` holds ``reached``, ``needed_workers``, the Wolsey ratio
        ``bound_ratio = 1 + ln(g_1/g_k)`` (greedy sites <= ratio x optimum) and ``lower_bound_sites``."""
        try:
            target_pct = float(target_pct)
        except (TypeError, ValueError):
            raise SitingError(f"target_pct must be a number, got {target_pct!r}", param="target_pct") from None
        if not (0 < target_pct <= 100) or not math.isfinite(target_pct):
            raise SitingError(f"target_pct must be between 0 and 100, got {target_pct:g}", param="target_pct")
        need = target_pct / 100.0 * self.total - self.base_covered
        tol = self._tol() * 1e3
        limit = self.n_candidates if max_sites is None else self._check_n(max_sites, "max_sites")
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
