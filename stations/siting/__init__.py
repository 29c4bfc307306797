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
* :func:`improve` (:mod:`~stations.siting.swap`; :meth:`MaxCover.solve_greedy_swap` runs both) -- local search
  after the greedy: 1-for-1 swaps (vertex substitution, Teitz & Bart 1968, with the fast swap evaluation of
  Whitaker 1983 on the sparse matrix) and 2-for-2 exchanges of neighbouring sites, until neither covers more
  or the deadline. Never worse than the greedy; on the bundled model it closes most of the greedy's gap to
  the optimum (``docs/siting.md``, ``bench/bench_siting.py``). It is the default answer of :func:`recommend`.
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

Outputs: :class:`Recommendation` (from :func:`recommend`) -- the ranked sites (rank, place name in Chinese
and English (:func:`place_names`: county and nearest GeoNames town or county seat), marginal
``gain_workers``, cumulative covered, county, WGS-84 and GCJ-02 coordinates, nearest existing station and
its geodesic distance), the coverage before and after (:class:`stations.coverage.CoverageResult`), the
before/after tables by prefecture and county (:func:`stations.coverage.coverage_table`), the
coverage-versus-N curve (PNG / SVG) and downloads (CSV with BOM, XLSX, GeoJSON, GeoPackage).

For the print sheets: :func:`recommended_sites` ``(n, radius=1000, hour=None) -> GeoDataFrame``.

Modules: :mod:`~stations.siting.model` (:class:`MaxCover`, the greedy solvers), :mod:`~stations.siting.exact`
(the HiGHS integer programs), :mod:`~stations.siting.solution` (:class:`Solution`),
:mod:`~stations.siting.swap` (the local search), :mod:`~stations.siting.naming` (place names),
:mod:`~stations.siting.candidates`, :mod:`~stations.siting.scenario` (what-if),
:mod:`~stations.siting.recommendation` (:func:`recommend`, :class:`Recommendation`, downloads). Everything
public is importable from ``stations.siting``.
"""

from __future__ import annotations

from ..errors import CandidateFileError, SitingError
from .candidates import (MAX_CANDIDATE_ROWS, MAX_DEFAULT_CANDIDATES, candidates_from_frame, default_candidates,
                         read_candidates)
from .exact import MAX_EXACT_NNZ
from .model import ONE_MINUS_INV_E, MaxCover
from .naming import place_names
from .recommendation import SITE_COLUMNS, Recommendation, recommend, recommended_sites
from .recommendation import _sites_frame, rounded_sites  # noqa: F401
from .scenario import NEW_ID_PREFIX, whatif, with_added_sites
from .solution import Solution
from .swap import SWAP_TIME_LIMIT, improve

__all__ = [
    "MAX_DEFAULT_CANDIDATES",
    "MAX_CANDIDATE_ROWS",
    "MAX_EXACT_NNZ",
    "ONE_MINUS_INV_E",
    "NEW_ID_PREFIX",
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
    "rounded_sites",
    "recommended_sites",
    "whatif",
    "SITE_COLUMNS",
    "SWAP_TIME_LIMIT",
    "improve",
    "place_names",
]
