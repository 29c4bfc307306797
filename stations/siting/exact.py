"""The exact solvers of :class:`~stations.siting.model.MaxCover`: integer programs solved with HiGHS.

* :meth:`ExactSolvers.reduce` -- the reduced instance: only candidates with a positive gain, identical
  candidates merged; only uncovered demand some candidate reaches, demand points with the same set of
  covering candidates merged into one.
* :meth:`ExactSolvers.solve_exact` -- the MCLP program (Church & ReVelle 1974): ``max sum_j w_j y_j`` s.t.
  ``y_j <= sum_{i covers j} x_i``, ``sum_i x_i <= n``, ``x`` binary, ``0 <= y <= 1``.
* :meth:`ExactSolvers.solve_set_cover_exact` -- the fewest sites reaching a coverage target.

Both are warm-started with the greedy and stop at ``time_limit``; the results carry HiGHS' dual bound.
:class:`ExactSolvers` is a mixin: it works on the attributes and greedy methods of ``MaxCover``.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from scipy import sparse

from ..errors import SitingError
from .solution import Solution

log = logging.getLogger(__name__)

__all__ = ["MAX_EXACT_NNZ", "ExactSolvers"]

#: the exact solver refuses reduced instances with more non-zeros than this (say so rather than hang)
MAX_EXACT_NNZ = 2_000_000


class ExactSolvers:
    """The integer-programming methods of :class:`~stations.siting.model.MaxCover` (a mixin)."""

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
                              f"(limit {max_nnz:,}); use the greedy", param="exact")
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
                              f"(limit {max_nnz:,}); use the greedy", param="exact")

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


def _set_start(h, x0: np.ndarray, y0: np.ndarray) -> None:
    """Give HiGHS a feasible starting solution (site variables ``x0``, covered-demand variables ``y0``)."""
    import highspy

    hs = highspy.HighsSolution()
    hs.col_value = list(np.concatenate([x0, y0]))
    hs.value_valid = True
    h.setSolution(hs)
