"""The planner's shared state, for the planner and recommend blueprints alike (one app each).

- the registry snapshot (:func:`snapshot`) and its per-snapshot memo, which holds the analyses: coverage
  (:func:`coverage`), tables (:func:`table`), load and 2SFCA (:func:`access`), gaps (:func:`gaps`), siting models and recommendations
  (:func:`recommendation`) and their before/after rows, each keyed by the question asked (never by an
  object's ``id``), so the planner page, the downloads and the recommendations agree;
- the demand in use (:func:`demand`: the configured or bundled model, or an uploaded set by id) and the
  uploaded demand and candidate sets (kept in memory; nothing reaches the registry);
- the geography of the tables (:func:`geography`).

Who owns what (issue 14 §1): a request's **owner** (:func:`owner`) is its session (an id in Flask's signed session
cookie, given by the planner page, :func:`ensure_session`) or, without one, :data:`webmap.caches.ANONYMOUS`, which
all such requests share. Uploaded sets belong to their owner: only the owner finds them by id, and they are kept in
one :class:`webmap.caches.OwnedCache` bounded by ``upload_bytes`` in all and ``upload_session_bytes`` per owner
(besides ``demand_sets`` / ``candidate_sets`` per owner): a new upload pushes out its owner's oldest sets, or sets
idle for ``idle_seconds``, never another session's live ones; when that cannot make room it is refused (HTTP 413).
The analyses are memoised per registry snapshot under the same rule (:meth:`webmap.Snapshot.cached`), each entry
charged to the owner whose request computed it.

Configuration: ``PLANNER_DEMAND`` (a demand GeoDataFrame or a path to a demand file; default the bundled model
of :mod:`stations.demand`), ``PLANNER_GEOGRAPHY`` (a :class:`stations.coverage.Geography`; default
:mod:`stations.geo`), ``RECOMMEND_MAX_SECONDS`` and ``RECOMMEND_EXACT_SECONDS`` (run-time limits of one
recommendation).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, g, has_request_context, session

from stations import coverage as C
from stations import siting as S
from stations.budget import Deadline
from stations.errors import InputError, LimitError, SitingError
from stations.limits import LIMITS
from webmap import get_store
from webmap.caches import ANONYMOUS, OwnedCache
from webmap.responses import clean

log = logging.getLogger(__name__)

MAX_DEMAND_SETS = int(LIMITS["demand_sets"].hi)
MAX_CANDIDATE_SETS = int(LIMITS["candidate_sets"].hi)
#: accepted what-if scenarios kept per owner (the latest; each a small spec, its station set in the memo)
MAX_SCENARIOS = 4
ANALYSIS_SECONDS = float(LIMITS["analysis_seconds"].default)
MAX_N = int(LIMITS["sites_n"].hi)
MAX_SECONDS = float(LIMITS["recommend_seconds"].default)
EXACT_SECONDS = float(LIMITS["exact_seconds"].default)

_LOCK = threading.Lock()  # the state's dictionaries
_COMPUTE = threading.RLock()  # the page asks for the same figures in parallel: compute once


#: the analyses on foot (``distance=network``, issue 13): coverage, siting_model and recommendation, installed
#: by :mod:`webmap.network_state` when it is imported (the planner and recommendation blueprints import it)
ON_FOOT: dict = {}


@dataclass(frozen=True)
class CoverageArgs:
    """One coverage question: service ``radius`` in metres (for towns when ``rural`` is given), ``rural`` radius,
    ``hour`` (Asia/Shanghai; None: status only), ``weekday`` (0 = Monday), the ``demand`` set id (None: model)
    and the accepted ``scenario``'s id (None: the registry's stations; see :func:`add_scenario`)."""

    radius: float
    rural: float | None = None
    hour: int | None = None
    weekday: int = 2
    demand: str | None = None
    distance: str = "straight"  # or "network": radius is walking metres (webmap.network_state, issue 13)
    scenario: str | None = None

    @property
    def spec(self):
        """The radius as :func:`stations.coverage.compute_coverage` takes it."""
        return self.radius if self.rural is None else {"town": self.radius, "rural": self.rural, "default": self.radius}

    @property
    def key(self) -> tuple:
        walk = ("network",) if self.distance == "network" else ()  # straight-line keys as before
        return (self.radius, self.rural, self.hour, self.weekday, self.demand, self.scenario, *walk)

    @property
    def private(self) -> str | None:
        """What makes the analyses of this question private to its owner: an uploaded demand set or a scenario."""
        return self.demand if self.demand is not None else self.scenario


@dataclass(frozen=True)
class RecommendArgs:
    """One recommendation question: the coverage question, ``n`` new sites or a ``target`` coverage %, the
    ``candidates`` set (``"default"`` or an uploaded set's id) and whether to run the ``exact`` solver too."""

    coverage: CoverageArgs
    n: int | None
    target: float | None
    candidates: str = "default"
    exact: bool = False
    exact_seconds: float | None = None  # the exact solver's time budget (None: the app's RECOMMEND_EXACT_SECONDS)

    @property
    def key(self) -> tuple:
        c = self.coverage
        walk = ("network",) if c.distance == "network" else ()
        return (c.radius, c.rural, c.hour, c.weekday, self.candidates, self.n, self.target, self.exact, c.demand,
                c.scenario, self.exact_seconds, *walk)


class _PlannerState:
    """What one app keeps between requests (``app.extensions["planner"]``)."""

    def __init__(self):
        self.geography = None
        self.demand = None
        # ("demand", owner, id) -> {"demand", "name", ...derived values}; ("candidates", owner, id) -> {"frame", ...}
        self.uploads = OwnedCache(LIMITS["upload_bytes"].hi, LIMITS["upload_session_bytes"].hi,
                                  LIMITS["idle_seconds"].default, name="uploaded sets")
        self.memo: dict = {}  # app-lifetime values (the model's heat layer, county outlines)


def _state() -> _PlannerState:
    ext = current_app.extensions
    st = ext.get("planner")
    if st is None:
        with _LOCK:
            st = ext.setdefault("planner", _PlannerState())
    return st


def owner() -> str:
    """Who the current request computes and uploads for: ``"s:<id>"`` of its session, else ``ANONYMOUS``."""
    if not has_request_context():
        return ANONYMOUS
    sid = session.get("sid")
    return f"s:{sid}" if isinstance(sid, str) and sid else ANONYMOUS


def ensure_session() -> str:
    """Give the browser a session (the planner page does), so that its uploads and analyses are its own."""
    if not isinstance(session.get("sid"), str):
        session["sid"] = uuid.uuid4().hex
    return owner()


def snapshot():
    """The registry snapshot of the current app (:class:`webmap.Snapshot`), its memo told which objects the
    analyses refer to without owning them (:func:`shared_objects`)."""
    snap = get_store().snapshot()
    if snap.shared_provider is None:
        snap.shared_provider = shared_objects
    return snap


def shared_objects() -> list:
    """The demand model and every uploaded set's frame: analyses refer to them, their sizes count elsewhere."""
    try:
        st = _state()
    except RuntimeError:  # no app context
        return []
    from stations.demand import loaded_models

    out = [st.demand] if st.demand is not None else []
    out.extend(loaded_models())
    for key in st.uploads.keys():
        holder = st.uploads.peek(key)
        value = None if holder is None else holder.get("demand", holder.get("frame"))
        if value is not None:
            out.append(value)
    return out


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
    """The demand in use: an uploaded set of the request's owner by id, or the configured / bundled model."""
    st = _state()
    if demand_id is not None:
        return _upload("demand", demand_id)["demand"]
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
# Uploaded sets are kept on disk too (var/uploads/<kind>/<owner>/<id>.pkl, written by this app only), so that every
# web process and every job worker (webmap.jobs: the session cookie travels with the job) finds a set whichever
# process parsed it; in memory, within the byte budgets of the owner and of the server.


def _upload_path(kind: str, who: str, token: str) -> Path | None:
    from stations import config

    if not token or not all(c.isalnum() for c in token) or len(token) > 64:
        return None  # ids are hex digests; anything else is no file of ours
    folder = hashlib.sha256(who.encode()).hexdigest()[:24]  # the owner's id never appears in a path
    return config.var_dir() / "uploads" / kind / folder / f"{token}.pkl"


def _save_upload(kind: str, who: str, token: str, holder: dict) -> None:
    path = _upload_path(kind, who, token)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.part")
        tmp.write_bytes(pickle.dumps({k: v for k, v in holder.items()
                                      if k in ("demand", "frame", "name", "crs", "count", "spec")},
                                     protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(path)
    except OSError as exc:  # a read-only var/: the set still works in this process
        log.warning("could not keep the uploaded %s set %s on disk: %s", kind, token, exc)


def _find_upload(kind: str, token: str | None) -> dict | None:
    """The owner's uploaded set ``token`` of ``kind``: from memory, else from var/uploads/ (then kept in memory
    when the budgets allow)."""
    if token is None:
        return None
    st, who = _state(), owner()
    holder = st.uploads.get((kind, who, token), None, who)
    if holder is not None:
        return holder
    path = _upload_path(kind, who, token)
    if path is None or not path.is_file():
        return None
    try:
        holder = pickle.loads(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - a damaged file: the set is gone, as when it was dropped
        log.warning("cannot read the uploaded %s set %s: %s", kind, token, exc)
        return None
    st.uploads.put((kind, who, token), holder, who, size=st.uploads.sizeof(holder))  # not kept when full: fine
    return holder


def _upload(kind: str, token: str) -> dict:
    holder = _find_upload(kind, token)
    if holder is None:
        if kind == "scenario":
            raise InputError(f"unknown scenario {str(token)[:40]!r}: accept the scenario again (scenarios are kept for "
                             f"the session that accepted them, its latest {MAX_SCENARIOS})", param="scenario")
        raise InputError(f"unknown {'demand' if kind == 'demand' else 'candidate'} set {str(token)[:40]!r}: upload the "
                         f"file again (sets are kept for the session that uploaded them)",
                         param="demand" if kind == "demand" else "candidates")
    return holder


def _keep_upload(kind: str, token: str, holder: dict, per_owner: int) -> None:
    """Keep an uploaded set for the request's owner, pushing out its own oldest sets of that kind beyond
    ``per_owner``; :class:`LimitError` (413) when the byte budgets leave no room (see the module docstring)."""
    st = _state()
    who = owner()
    mine = [k for k in st.uploads.keys_of(who) if k[0] == kind and k[2] != token]
    for k in mine[: max(0, len(mine) - per_owner + 1)]:
        st.uploads.pop(k)
    size = st.uploads.sizeof(holder)
    if not st.uploads.put((kind, who, token), holder, who, size=size):
        if size > st.uploads.owner_bytes:
            raise LimitError(f"the uploaded set takes {size / 1048576:,.0f} MB in memory, more than the "
                             f"{st.uploads.owner_bytes / 1048576:g} MB a session may keep (upload_session_bytes); "
                             f"send fewer points or a coarser file", param="file")
        raise LimitError(f"the server keeps {st.uploads.total / 1048576:,.0f} MB of other sessions' uploaded sets now, "
                         f"its limit (upload_bytes); try again later", param="file")
    _save_upload(kind, who, token, holder)


def has_demand_set(token: str) -> bool:
    return _find_upload("demand", token) is not None


def add_demand_set(frame, name: str) -> str:
    """Keep an uploaded demand set for the request's owner (its latest :data:`MAX_DEMAND_SETS`); returns its id."""
    token = uuid.uuid4().hex[:12]
    _keep_upload("demand", token, {"demand": frame, "name": name}, MAX_DEMAND_SETS)
    return token


def per_demand(demand_id: str | None, name: str, build):
    """A value derived from one demand set (``build()``), kept as long as the set is (and counted in its size)."""
    st = _state()
    if demand_id is None:
        holder = st.memo.setdefault("model", {})
    else:
        holder = _upload("demand", demand_id)
    if name not in holder:
        value = build()
        holder[name] = value
        if demand_id is not None:
            st.uploads.add_size(("demand", owner(), demand_id), st.uploads.sizeof(value))
    return holder[name]


def per_app(name: str, build):
    """A value kept for the app's lifetime (``build()`` once)."""
    memo = _state().memo
    if name not in memo:
        memo[name] = build()
    return memo[name]


def has_candidate_set(cid: str) -> bool:
    return _find_upload("candidates", cid) is not None


def add_candidate_set(cid: str, frame, name: str, crs: str) -> None:
    """Keep an uploaded candidate set under ``cid`` for the request's owner (its latest :data:`MAX_CANDIDATE_SETS`)."""
    _keep_upload("candidates", cid, {"frame": frame, "name": name, "crs": crs, "count": len(frame)}, MAX_CANDIDATE_SETS)


def candidate_frame(cid: str):
    """The candidate sites of an uploaded set, None for ``"default"`` (centres of the demand cells in towns)."""
    return None if cid == "default" else _upload("candidates", cid)["frame"]


# ----------------------------------------------------------------------------------------- accepted scenarios
# An accepted what-if scenario becomes the planner page's working baseline: every analysis asked with
# ``scenario=<id>`` (coverage, tables, gaps, layers, load and 2SFCA, recommendations, what-if, downloads) is
# computed over the registry's stations with the scenario's stations added and closed. A scenario is its small
# spec (added [lon, lat, hours], closed ids), kept like an uploaded set: per owner (its latest MAX_SCENARIOS,
# within the byte budgets of the uploaded sets), on disk for every process; its id is a digest of the spec and
# the registry's data version, so the same scenario over the same registry has the same id.


def scenario_spec(add, close, hours) -> dict:
    """The canonical spec of a scenario: ``add`` [(lon, lat)], ``hours`` (text or None per added site), ``close``."""
    return {"add": [[round(float(x), 6), round(float(y), 6)] for x, y in add],
            "hours": [h or None for h in hours], "close": sorted({str(c) for c in close})}


def add_scenario(spec: dict) -> str:
    """Keep an accepted scenario for the request's owner (its latest :data:`MAX_SCENARIOS`); returns its id."""
    blob = json.dumps({**spec, "version": str(snapshot().version)}, sort_keys=True, separators=(",", ":"))
    token = hashlib.sha256(blob.encode()).hexdigest()[:12]
    if _find_upload("scenario", token) is None:
        _keep_upload("scenario", token, {"spec": spec, "name": f"scenario {token}"}, MAX_SCENARIOS)
    return token


def has_scenario(token: str) -> bool:
    return isinstance(token, str) and _find_upload("scenario", token) is not None


def scenario(token: str) -> dict:
    """The spec of the owner's accepted scenario ``token`` (:class:`InputError` on ``scenario`` when unknown)."""
    return _upload("scenario", token)["spec"]


def stations(scenario_id: str | None = None):
    """The station set of a question: the registry snapshot's, or an accepted scenario's (the snapshot with the
    scenario's sites added as open stations named by place, ids ``S<id>-001``..., and its closed stations closed)."""
    snap = snapshot()
    if scenario_id is None:
        return snap.gdf
    spec = scenario(scenario_id)

    def build():
        add = spec["add"]
        out = S.with_added_sites(snap.gdf, [p[0] for p in add], [p[1] for p in add], close=spec["close"],
                                 hours=spec["hours"], ids=[f"S{scenario_id[:6]}-{k + 1:03d}" for k in range(len(add))])
        if len(add):  # a hypothetical station is called by its place ("五华区 · 昆明附近"), as in the lists
            new = out["id"].astype(str).str.startswith(f"S{scenario_id[:6]}-")
            out.loc[new, "name"] = out.loc[new, "place_zh"]
        return out

    return cached(("scenario-stations", scenario_id), build, scenario_id)


def upload_deadline(what: str) -> Deadline:
    """The wall-clock limit of reading one uploaded file in a request (``analysis_seconds``)."""
    return Deadline(float(current_app.config.get("ANALYSIS_SECONDS", ANALYSIS_SECONDS)), f"reading {what}",
                    hint="send a smaller file", param="file")


# ----------------------------------------------------------------------------------------- analyses
def _request_memo() -> dict | None:
    """Values computed in this request that the memo did not keep (over a budget): computed once per request."""
    if not has_request_context():
        return None
    if "yizhan_memo" not in g:
        g.yizhan_memo = {}
    return g.yizhan_memo


def _key(key: tuple, demand_id: str | None) -> tuple:
    """Keys of analyses of an uploaded demand set carry its owner, so that nobody else's request finds them."""
    return key if demand_id is None else (*key, owner())


def cached(key: tuple, build, demand_id: str | None = None):
    """``build()`` memoised per registry snapshot under ``key`` (a tuple of plain values), charged to the
    request's owner (:meth:`webmap.Snapshot.cached`)."""
    return snapshot().cached(_key(key, demand_id), build, owner=owner(), local=_request_memo())


def analysis_deadline(what: str, hint: str = "ask for a smaller radius") -> Deadline:
    """The wall-clock limit of one analysis in a request (``analysis_seconds``, or the app's ``ANALYSIS_SECONDS``)."""
    return Deadline(float(current_app.config.get("ANALYSIS_SECONDS", ANALYSIS_SECONDS)), what, hint=hint, param="radius")


def coverage(args: CoverageArgs) -> C.CoverageResult:
    """The coverage for ``args``, cached per registry snapshot."""
    if args.distance == "network":  # on foot (issue 13)
        return ON_FOOT["coverage"](args)
    st = stations(args.scenario)
    with _COMPUTE:
        return cached(("planner", *args.key),
                      lambda: C.compute_coverage(st, demand(args.demand), args.spec, args.hour, args.weekday),
                      args.private)


def table(args: CoverageArgs, by: str):
    """The coverage table by ``by`` (province, prefecture or county)."""
    res = coverage(args)
    with _COMPUTE:
        return cached(("planner-table", *args.key, by), lambda: C.coverage_table(res, by, geography()), args.private)


def access(args: CoverageArgs):
    """Load per active station and 2SFCA per demand cell (:class:`stations.access.AccessResult`) for ``args``,
    computed once per coverage result."""
    res = coverage(args)
    with _COMPUTE:
        return res.access()


def gaps(args: CoverageArgs):
    """The gaps (contiguous uncovered demand), largest first, within ``analysis_seconds``."""
    res = coverage(args)
    with _COMPUTE:
        return cached(("planner-gaps", *args.key), lambda: C.find_gaps(res, deadline=analysis_deadline("the gaps")),
                      args.private)


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
    c = args.coverage
    if c.distance == "network":  # on foot (issue 13)
        return ON_FOOT["siting_model"](args)
    st = stations(c.scenario)
    key = ("siting-model", c.radius, c.rural, c.hour, c.weekday, args.candidates, c.demand, c.scenario)
    # the pairs of demand points and candidates are counted before the matrix is built: 413 beyond coverage_pairs
    return cached(key, lambda: S.MaxCover.from_geodataframes(
        demand(c.demand), candidate_frame(args.candidates), st, c.spec, c.hour, c.weekday,
        max_pairs=LIMITS["coverage_pairs"]), _owned(args))


def exact_seconds(asked: float | None = None) -> float:
    """The exact solver's time budget: ``asked`` (the page's choice) within the app's ``RECOMMEND_EXACT_SECONDS``."""
    most = float(current_app.config.get("RECOMMEND_EXACT_SECONDS", EXACT_SECONDS))
    return most if asked is None else min(float(asked), most)


def _fallback_param(args: RecommendArgs) -> str:
    return "n" if args.n is not None else "target_pct"


def recommendation(args: RecommendArgs) -> S.Recommendation:
    """The recommended sites for ``args``, cached per registry snapshot.

    A greedy run stops at ``RECOMMEND_MAX_SECONDS``; the exact solver gets ``RECOMMEND_EXACT_SECONDS``. Past the
    limit, or when the domain refuses (a :class:`stations.errors.SitingError` names its parameter), an
    :class:`InputError` (HTTP 400)."""
    c = args.coverage
    st = stations(c.scenario)

    def build():
        model = siting_model(args)
        max_seconds = float(current_app.config.get("RECOMMEND_MAX_SECONDS", MAX_SECONDS))
        deadline = time.perf_counter() + max_seconds
        try:
            rec = S.recommend(st, demand(c.demand), n=args.n, target_pct=args.target, radius=c.spec,
                               hour=c.hour, weekday=c.weekday, exact="auto" if args.exact else False,
                               time_limit=exact_seconds(args.exact_seconds),
                               deadline=deadline, max_sites=MAX_N, model=model)
            if c.distance == "network":  # before/after on foot (issue 13)
                rec = ON_FOOT["recommendation"](rec, args)
            return rec
        except TimeoutError as exc:
            raise InputError(f"run-time limit of {max_seconds:g} s reached ({exc}); ask for fewer sites",
                             param=_fallback_param(args)) from None
        except SitingError as exc:
            if exc.param is None:  # the domain names the parameter; older raise sites may not
                exc.param = _fallback_param(args)
            raise

    rec = cached(("siting-rec", *args.key), build, _owned(args))
    if rec.mode == "set-cover" and not rec.solution.extra.get("reached"):
        raise InputError(f"target {args.target:g} % not reached: {rec.solution.status} "
                         f"(at most {MAX_N} sites per request)", param="target_pct")
    return rec


def recommendation_rows(args: RecommendArgs, rec: S.Recommendation | None = None) -> list[dict]:
    """:func:`compare_rows` of the recommendation for ``args`` (before and after its sites), cached with it."""
    rec = rec if rec is not None else recommendation(args)
    return cached(("siting-pref", *args.key), lambda: compare_rows(rec.before, rec.after), _owned(args))


def _owned(args: RecommendArgs) -> str | None:
    """What makes a recommendation private to its owner: an uploaded demand or candidate set, or a scenario."""
    c = args.coverage
    return c.private if c.private is not None else (None if args.candidates == "default" else args.candidates)
