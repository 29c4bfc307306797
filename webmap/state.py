"""The planner's shared state, for the planner and recommend blueprints alike (one app each).

- the registry snapshot (:func:`snapshot`) and its per-snapshot memo, which holds the analyses: coverage
  (:func:`coverage`), tables (:func:`table`), load and 2SFCA (:func:`access`), gaps (:func:`gaps`), siting models and recommendations
  (:func:`recommendation`) and their before/after rows, each keyed by the question asked (never by an
  object's ``id``), so the planner page, the downloads and the recommendations agree;
- the demand in use (:func:`demand`: the configured or bundled model, or an uploaded set by id) and the
  uploaded demand and candidate sets (kept in memory, the latest few; nothing reaches the registry);
- the geography of the tables (:func:`geography`).

Configuration: ``PLANNER_DEMAND`` (a demand GeoDataFrame or a path to a demand file; default the bundled model
of :mod:`stations.demand`), ``PLANNER_GEOGRAPHY`` (a :class:`stations.coverage.Geography`; default
:mod:`stations.geo`), ``RECOMMEND_MAX_SECONDS`` and ``RECOMMEND_EXACT_SECONDS`` (run-time limits of one
recommendation).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from stations import coverage as C
from stations import siting as S
from stations.errors import InputError, SitingError
from stations.limits import LIMITS
from webmap import get_store
from webmap.responses import clean

log = logging.getLogger(__name__)

MAX_DEMAND_SETS = int(LIMITS["demand_sets"].hi)
MAX_CANDIDATE_SETS = int(LIMITS["candidate_sets"].hi)
MAX_N = int(LIMITS["sites_n"].hi)
MAX_SECONDS = float(LIMITS["recommend_seconds"].default)
EXACT_SECONDS = float(LIMITS["exact_seconds"].default)

_LOCK = threading.Lock()  # the state's dictionaries
_COMPUTE = threading.RLock()  # the page asks for the same figures in parallel: compute once


@dataclass(frozen=True)
class CoverageArgs:
    """One coverage question: service ``radius`` in metres (for towns when ``rural`` is given), ``rural`` radius,
    ``hour`` (Asia/Shanghai; None: status only), ``weekday`` (0 = Monday) and the ``demand`` set id (None: model)."""

    radius: float
    rural: float | None = None
    hour: int | None = None
    weekday: int = 2
    demand: str | None = None

    @property
    def spec(self):
        """The radius as :func:`stations.coverage.compute_coverage` takes it."""
        return self.radius if self.rural is None else {"town": self.radius, "rural": self.rural, "default": self.radius}

    @property
    def key(self) -> tuple:
        return (self.radius, self.rural, self.hour, self.weekday, self.demand)


@dataclass(frozen=True)
class RecommendArgs:
    """One recommendation question: the coverage question, ``n`` new sites or a ``target`` coverage %, the
    ``candidates`` set (``"default"`` or an uploaded set's id) and whether to run the ``exact`` solver too."""

    coverage: CoverageArgs
    n: int | None
    target: float | None
    candidates: str = "default"
    exact: bool = False

    @property
    def key(self) -> tuple:
        c = self.coverage
        return (c.radius, c.rural, c.hour, c.weekday, self.candidates, self.n, self.target, self.exact, c.demand)


class _PlannerState:
    """What one app keeps between requests (``app.extensions["planner"]``)."""

    def __init__(self):
        self.geography = None
        self.demand = None
        self.demand_sets: OrderedDict = OrderedDict()  # id -> {"demand", "name", ...derived values}
        self.candidate_sets: OrderedDict = OrderedDict()  # id -> {"frame", "name", "crs", "count"}
        self.memo: dict = {}  # app-lifetime values (the model's heat layer, county outlines)


def _state() -> _PlannerState:
    ext = current_app.extensions
    st = ext.get("planner")
    if st is None:
        with _LOCK:
            st = ext.setdefault("planner", _PlannerState())
    return st


def snapshot():
    """The registry snapshot of the current app (:class:`webmap.Snapshot`)."""
    return get_store().snapshot()


def is_demo() -> bool:
    """Whether the loaded registry holds synthetic demo stations."""
    gdf = snapshot().gdf
    return bool(len(gdf)) and "source" in gdf.columns and bool((gdf["source"] == "synthetic-demo").any())


def geography() -> C.Geography:
    st = _state()
    if st.geography is None:
        with _LOCK:
            if st.geography is None:
                st.geography = current_app.config.get("PLANNER_GEOGRAPHY") or C.Geography.load()
    return st.geography


def demand(demand_id: str | None = None):
    """The demand in use: an uploaded set by id, or the configured / bundled model."""
    st = _state()
    if demand_id is not None:
        entry = _uploaded("demand", demand_id)
        if entry is None:
            raise KeyError(demand_id)
        return entry["demand"]
    if st.demand is None:
        with _LOCK:
            if st.demand is None:
                given = current_app.config.get("PLANNER_DEMAND")
                if given is None:
                    from stations.demand import load_demand

                    st.demand = load_demand()
                elif isinstance(given, (str, Path)):
                    from stations.demand import load_demand_file

                    st.demand = load_demand_file(given)
                else:
                    st.demand = given
    return st.demand


# ----------------------------------------------------------------------------------------- uploaded sets
def has_demand_set(token: str) -> bool:
    return _uploaded("demand", token) is not None


# Uploaded sets are kept on disk too (var/uploads/<kind>/<id>.pkl, written by this app only), so that every web
# process and every job worker (webmap.jobs) finds a set whichever process parsed it; in memory, the latest few.
_KINDS = {"demand": "demand_sets", "candidates": "candidate_sets"}


def _upload_path(kind: str, token: str) -> Path | None:
    from stations import config

    if not token or not all(c.isalnum() for c in token) or len(token) > 64:
        return None  # ids are hex digests; anything else is no file of ours
    return config.var_dir() / "uploads" / kind / f"{token}.pkl"


def _save_upload(kind: str, token: str, entry: dict) -> None:
    import pickle

    path = _upload_path(kind, token)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.part")
        tmp.write_bytes(pickle.dumps({k: v for k, v in entry.items() if k in ("demand", "frame", "name", "crs", "count")},
                                     protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(path)
    except OSError as exc:  # a read-only var/: the set still works in this process
        log.warning("could not keep the uploaded %s set %s on disk: %s", kind, token, exc)


def _uploaded(kind: str, token: str | None) -> dict | None:
    """The uploaded set ``token`` of ``kind`` (demand | candidates): from memory, else from var/uploads/."""
    if token is None:
        return None
    sets = getattr(_state(), _KINDS[kind])
    entry = sets.get(token)
    if entry is not None:
        return entry
    path = _upload_path(kind, token)
    if path is None or not path.is_file():
        return None
    import pickle

    try:
        entry = pickle.loads(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - a damaged file: the set is gone, as when it was dropped
        log.warning("cannot read the uploaded %s set %s: %s", kind, token, exc)
        return None
    limit = MAX_DEMAND_SETS if kind == "demand" else MAX_CANDIDATE_SETS
    with _LOCK:
        sets[token] = entry
        while len(sets) > limit:
            sets.popitem(last=False)
    return entry


def add_demand_set(frame, name: str) -> str:
    """Keep an uploaded demand set (the latest :data:`MAX_DEMAND_SETS`); returns its new id."""
    token = uuid.uuid4().hex[:12]
    sets = _state().demand_sets
    with _LOCK:
        sets[token] = {"demand": frame, "name": name}
        while len(sets) > MAX_DEMAND_SETS:
            sets.popitem(last=False)
    _save_upload("demand", token, sets.get(token) or {"demand": frame, "name": name})
    return token


def per_demand(demand_id: str | None, name: str, build):
    """A value derived from one demand set (``build()``), kept as long as the set is."""
    st = _state()
    holder = _uploaded("demand", demand_id) if demand_id is not None else st.memo.setdefault("model", {})
    if holder is None:
        raise KeyError(demand_id)
    if name not in holder:
        holder[name] = build()
    return holder[name]


def per_app(name: str, build):
    """A value kept for the app's lifetime (``build()`` once)."""
    memo = _state().memo
    if name not in memo:
        memo[name] = build()
    return memo[name]


def has_candidate_set(cid: str) -> bool:
    return _uploaded("candidates", cid) is not None


def add_candidate_set(cid: str, frame, name: str, crs: str) -> None:
    """Keep an uploaded candidate set under ``cid`` (the latest :data:`MAX_CANDIDATE_SETS`)."""
    sets = _state().candidate_sets
    with _LOCK:
        sets[cid] = entry = {"frame": frame, "name": name, "crs": crs, "count": len(frame)}
        sets.move_to_end(cid)
        while len(sets) > MAX_CANDIDATE_SETS:
            sets.popitem(last=False)
    _save_upload("candidates", cid, entry)


def candidate_frame(cid: str):
    """The candidate sites of an uploaded set, None for ``"default"`` (centres of the demand cells in towns)."""
    if cid == "default":
        return None
    entry = _uploaded("candidates", cid)
    if entry is None:
        raise KeyError(cid)
    return entry["frame"]


# ----------------------------------------------------------------------------------------- analyses
def cached(key: tuple, build):
    """``build()`` memoised per registry snapshot under ``key`` (a tuple of plain values)."""
    return snapshot().cached(key, build)


def coverage(args: CoverageArgs) -> C.CoverageResult:
    """The coverage for ``args``, cached per registry snapshot."""
    snap = snapshot()
    with _COMPUTE:
        return snap.cached(("planner", *args.key),
                           lambda: C.compute_coverage(snap.gdf, demand(args.demand), args.spec, args.hour, args.weekday))


def table(args: CoverageArgs, by: str):
    """The coverage table by ``by`` (province, prefecture or county)."""
    res = coverage(args)
    with _COMPUTE:
        return snapshot().cached(("planner-table", *args.key, by), lambda: C.coverage_table(res, by, geography()))


def access(args: CoverageArgs):
    """Load per active station and 2SFCA per demand cell (:class:`stations.access.AccessResult`) for ``args``,
    computed once per coverage result."""
    res = coverage(args)
    with _COMPUTE:
        return res.access()


def gaps(args: CoverageArgs):
    """The gaps (contiguous uncovered demand), largest first."""
    res = coverage(args)
    with _COMPUTE:
        return snapshot().cached(("planner-gaps", *args.key), lambda: C.find_gaps(res))


def compare_rows(before: C.CoverageResult, after: C.CoverageResult, by: str = "prefecture") -> list[dict]:
    """Rows of workers, stations and coverage before and after, by prefecture (or ``by``)."""
    geo = geography()
    b = C.round_table(C.coverage_table(before, by, geo))
    a = C.round_table(C.coverage_table(after, by, geo))
    rows = []
    for rb, ra in zip(b.to_dict(orient="records"), a.to_dict(orient="records")):
        rows.append({"adcode": rb["adcode"], "name": rb["name"], "name_en": rb["name_en"], "workers": clean(rb["workers"]),
                     "stations_before": clean(rb["stations"]), "stations_after": clean(ra["stations"]),
                     "covered_before": clean(rb["workers_covered"]), "covered_after": clean(ra["workers_covered"]),
                     "covered_pct_before": clean(rb["covered_pct"]), "covered_pct_after": clean(ra["covered_pct"])})
    return rows


def siting_model(args: RecommendArgs) -> S.MaxCover:
    """The maximal-covering model (coverage matrix) for ``args``' coverage question and candidates."""
    snap = snapshot()
    c = args.coverage
    key = ("siting-model", c.radius, c.rural, c.hour, c.weekday, args.candidates, c.demand)
    return snap.cached(key, lambda: S.MaxCover.from_geodataframes(
        demand(c.demand), candidate_frame(args.candidates), snap.gdf, c.spec, c.hour, c.weekday))


def _fallback_param(args: RecommendArgs) -> str:
    return "n" if args.n is not None else "target_pct"


def recommendation(args: RecommendArgs) -> S.Recommendation:
    """The recommended sites for ``args``, cached per registry snapshot.

    A greedy run stops at ``RECOMMEND_MAX_SECONDS``; the exact solver gets ``RECOMMEND_EXACT_SECONDS``. Past the
    limit, or when the domain refuses (a :class:`stations.errors.SitingError` names its parameter), an
    :class:`InputError` (HTTP 400)."""
    snap = snapshot()
    c = args.coverage

    def build():
        model = siting_model(args)
        max_seconds = float(current_app.config.get("RECOMMEND_MAX_SECONDS", MAX_SECONDS))
        deadline = time.perf_counter() + max_seconds
        try:
            return S.recommend(snap.gdf, demand(c.demand), n=args.n, target_pct=args.target, radius=c.spec,
                               hour=c.hour, weekday=c.weekday, exact="auto" if args.exact else False,
                               time_limit=float(current_app.config.get("RECOMMEND_EXACT_SECONDS", EXACT_SECONDS)),
                               deadline=deadline, max_sites=MAX_N, model=model)
        except TimeoutError as exc:
            raise InputError(f"run-time limit of {max_seconds:g} s reached ({exc}); ask for fewer sites",
                             param=_fallback_param(args)) from None
        except SitingError as exc:
            if exc.param is None:  # the domain names the parameter; older raise sites may not
                exc.param = _fallback_param(args)
            raise

    rec = snap.cached(("siting-rec", *args.key), build)
    if rec.mode == "set-cover" and not rec.solution.extra.get("reached"):
        raise InputError(f"target {args.target:g} % not reached: {rec.solution.status} "
                         f"(at most {MAX_N} sites per request)", param="target_pct")
    return rec


def recommendation_rows(args: RecommendArgs) -> list[dict]:
    """:func:`compare_rows` of the recommendation for ``args`` (before and after its sites), cached with it."""
    rec = recommendation(args)
    return snapshot().cached(("siting-pref", *args.key), lambda: compare_rows(rec.before, rec.after))
