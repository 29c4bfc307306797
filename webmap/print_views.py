"""Print pages: ``/print`` (a form) and ``/print/sheet.pdf`` / ``/print/sheet.png`` (the map sheet file).

Query parameters of the sheet: ``area`` (yunnan | prefecture or county adcode), ``paper`` (A4 | A3),
``orientation`` (portrait | landscape), ``layers`` (comma-separated, or repeated), ``radius`` (metres),
``symbols`` (status | services: open stations graded by water, microwave, toilet and seating), ``dpi`` (PNG
only, 50-300). Bad input raises :class:`PrintError` naming the parameter; the app-wide handler
(``webmap.errors``) answers HTTP 400 with JSON ``{"error": {"parameter": ..., "message": ...}}`` (as the API).

``area`` is ``yunnan``, an adcode or a name (昆明市, 五华区, kunming: :func:`stations.cartography.parse_area`); an
ambiguous or unknown name is a 400 listing the close matches.

``distance=network`` (sheet and atlas) measures on foot on the street network (a 409 without one; the radius
defaults to 1,125 m); the atlas on foot is a job and a file of its own, keyed by the network too.

``/print/atlas.pdf?paper=A4`` (also ``layers``, ``radius``, ``symbols``, ``distance``) serves the 17-page atlas kept in
``var/print/``; when it is not there yet, the request starts drawing it in a background thread and answers
202 with the job's status and ``Retry-After``. ``/print/atlas/status?paper=A4`` reports the job: ``idle``,
``running`` (``pages_done`` / ``pages_total``), ``done`` (``download_url``) or ``error`` (``error``). The
``/print`` page polls it and shows the progress, then the download link. When an atlas is finished, the
older atlases of its paper size (other registry snapshots or other arguments) are deleted from ``var/print/``.
With ``area=`` a prefecture (adcode or name), the same routes give that prefecture's county atlas (a cover, then
each county's sheet and its station table), a job of its own beside the province's (:func:`_atlas_area`,
:func:`_atlas_slot`, :func:`_atlas_file`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l

from stations import cartography, geo, sheet_layers
from stations.errors import CJKFontError, PrintError
from stations.limits import LIMITS
from webmap import jobs
from webmap import network_common
from webmap.network_common import default_radius, distance_kind, network_key, require_network
from webmap.params import Params

log = logging.getLogger(__name__)

bp = Blueprint("print_views", __name__)

#: the messages of an area name that matches no area or several (stations.cartography.request), listed here as
#: msgids so that ``pybabel extract`` keeps them in the catalogue (webmap.errors translates them);
#: tests/test_print_area.py checks that they are the library's templates
AREA_MSGIDS = (
    _l("area: %(value)s could be %(matches)s; give the full name or the 6-digit adcode"),
    _l("area: unknown area %(value)s; did you mean %(matches)s? Give yunnan, a prefecture or county name "
       "(昆明市, 五华区, kunming) or its 6-digit adcode"),
    _l("area: unknown area %(value)s; give yunnan, a prefecture or county name (昆明市, 五华区, kunming) or its "
       "6-digit adcode"),
    _l("area: an atlas covers the province or a prefecture (one sheet per county); %(county)s is a county, "
       "give its prefecture %(prefecture)s"),
)
#: (zh, en) texts of the distance choice on /print (issue 13), kept beside network_common's rather than in the
#: catalogue, like them
DISTANCE_LEGEND = ("距离", "Distance")
DISTANCE_STRAIGHT = ("直线", "Straight line")
DISTANCE_NETWORK = ("步行（街道网络）", "On foot (street network)")
DISTANCE_HINT = ("步行：服务半径按街道上的步行米数计算（默认 1125 米，即 4.5 公里/小时步行 15 分钟）；图幅与图集注明“15分钟步行（街道网络）”。",
                 "On foot: the radius is walking metres on the streets (default 1,125 m, 15 minutes at 4.5 km/h); "
                 "sheets and atlases say \"15 minutes' walk (street network)\".")
#: paper -> its size, shown beside the choice on /print
PAPER_SIZES = {"A4": "210 × 297 mm", "A3": "297 × 420 mm"}

WEB_MAX_DPI = int(LIMITS["web_sheet_dpi"].hi)
WEB_DEFAULT_DPI = int(LIMITS["web_sheet_dpi"].default)


@bp.errorhandler(CJKFontError)
def _no_font(exc: CJKFontError):
    """No CJK font on the server: a 500 in the API's error shape, naming the fix."""
    log.error("print: %s", exc)
    return jsonify({"error": {"parameter": None, "message": str(exc)}}), 500


def _context(network=None):
    """A cartography context over the app's loaded stations with the analysis layers of
    :mod:`stations.sheet_layers`, cached per registry snapshot (and per street network when on foot)."""
    from webmap import get_store

    snap = get_store().snapshot()
    seconds = float(current_app.config.get("ANALYSIS_SECONDS", LIMITS["analysis_seconds"].default))
    if network is not None:  # distance=network (issue 13)
        return snap.cached(("printing", "context", *network_key(network)),
                           lambda: sheet_layers.context(snap.gdf, seconds=seconds, network=network))
    return snap.cached(("printing", "context"), lambda: sheet_layers.context(snap.gdf, seconds=seconds))


def _check_budget(layers, radius) -> None:
    """Refuse (413) a sheet or atlas whose recommended-sites layer is over the siting budget, before drawing."""
    sheet_layers.check_budget(radius, layers, LIMITS["coverage_pairs"])


def _single(*names: str) -> None:
    """Raise :class:`PrintError` for the first single-valued parameter given more than once (``paper=A4&paper=A3``)."""
    for name in names:
        if len(request.args.getlist(name)) > 1:
            raise PrintError(f"{name}: given more than once", param=name)


def _areas():
    g = geo.geography()
    prefs = sorted(g.prefecture_names.items())
    by_pref: dict[str, list[tuple[str, str]]] = {}
    for code, name in sorted(g.county_names.items()):
        by_pref.setdefault(g.county_prefecture.get(code, ""), []).append((code, name))
    return [
        {"adcode": code, "name": name, "counties": by_pref.get(code, [])}
        for code, name in prefs
    ]


@bp.get("/print")
def print_page():
    from webmap.i18n import lang

    try:
        areas = _areas()
        error = None
    except Exception as exc:  # geography missing: the page still explains itself
        areas, error = [], f"{type(exc).__name__}: {exc}"
    if areas and lang() == "en":  # English place names where the geography has them (the sheets stay Chinese)
        try:
            g = geo.geography()
            en = {str(a): str(n) for frame in (g.prefectures, g.counties)
                  for a, n in zip(frame["adcode"], frame["name_en"]) if isinstance(n, str) and n.strip()}
        except Exception:
            en = {}
        areas = [{**p, "name": en.get(p["adcode"], p["name"]),
                  "counties": [(code, en.get(code, name)) for code, name in p["counties"]]} for p in areas]
    try:
        from webmap import get_store

        demo = cartography.is_demo(get_store().gdf)
    except Exception:
        demo = False
    try:
        walkable = network_common.current() is not None  # the distance choice only with a street network
    except Exception:  # noqa: BLE001 - an unreadable network: straight lines, as without one
        walkable = False
    pick = network_common.pick
    return render_template(
        "print.html",
        show_demo_banner=demo,
        areas=areas,
        layers=cartography.LAYERS,
        default_layers=cartography.DEFAULT_LAYERS,
        papers=list(cartography.PAPERS),
        paper_sizes=PAPER_SIZES,
        symbols=list(cartography.SYMBOLS),
        radius=int(cartography.DEFAULT_RADIUS_M),
        walkable=walkable,
        walk_radius=int(default_radius("network", None)),
        distance_texts={"legend": pick(DISTANCE_LEGEND), "straight": pick(DISTANCE_STRAIGHT),
                        "network": pick(DISTANCE_NETWORK), "hint": pick(DISTANCE_HINT),
                        "none": pick(network_common.NO_NETWORK)},
        error=error,
    )


@bp.get("/print/sheet.<fmt>")
@jobs.offload  # answered by a worker process when JOBS is "queue" (webmap.jobs)
def sheet(fmt: str):
    fmt = fmt.lower()
    if fmt not in ("pdf", "png"):
        raise PrintError(f"format: unknown file type {fmt!r}; use sheet.pdf or sheet.png", param="format", status=404)
    args = request.args
    _single("area", "paper", "orientation", "radius", "symbols", "dpi")
    walk = distance_kind(Params.query()) == "network"  # a 409 without a street network (issue 13)
    layers = args.getlist("layers")
    req = cartography.validate(
        args.get("area", "yunnan"),
        args.get("paper", "A4"),
        args.get("orientation", "portrait"),
        ",".join(layers) if layers else None,
        args.get("radius", default_radius("network", None) if walk else cartography.DEFAULT_RADIUS_M),
        args.get("symbols", cartography.DEFAULT_SYMBOLS),
    )
    dpi = cartography.parse_dpi(args.get("dpi", str(WEB_DEFAULT_DPI)), max_dpi=WEB_MAX_DPI)
    _check_budget(req.layers, req.radius)
    t0 = time.perf_counter()
    buf = io.BytesIO()
    info = cartography.make_sheet(
        req.area, req.paper, req.orientation, req.layers, req.radius, buf, fmt=fmt, dpi=dpi,
        context=_context(require_network() if walk else None),
        symbols=req.symbols,
    )
    log.info("print %s %s %s %s in %.2f s", req.area, req.paper, req.orientation, fmt, time.perf_counter() - t0)
    buf.seek(0)
    name = (f"yizhan-{req.area}-{req.paper}-{req.orientation}" + ("-services" if req.symbols == "services" else "")
            + ("-walk" if walk else "") + f".{fmt}")
    resp = send_file(
        buf,
        mimetype="application/pdf" if fmt == "pdf" else "image/png",
        as_attachment=args.get("download") == "1",
        download_name=name,
        max_age=0,
    )
    resp.headers["X-Sheet-Scale"] = f"1:{info.scale_denominator}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ------------------------------------------------------------------------------------------------ atlas job
#
# The 17-page atlas takes about 25 s to draw. ``GET /print/atlas.pdf`` serves it from ``var/print/`` when it
# exists; otherwise the first request starts a job (one at a time per paper size) and answers 202 with the job's
# JSON status and a Retry-After header. ``GET /print/atlas/status`` reports the job (pages done of 17 and the stage,
# then the download address; an error in the job is reported there); ``POST /print/atlas/cancel`` cancels it.
#
# Where the job runs follows the app's ``JOBS``: ``queue`` sends it to a worker process (:mod:`webmap.jobs`) and
# keeps its status record and the per-paper lock in the queue's store, so every web process sees the same job;
# ``inline`` draws it in a thread of this process with the record in :data:`_ATLAS_JOBS`.

ATLAS_RETRY_AFTER_S = 2
#: a running job whose record was not updated for this long is taken for dead (its worker was killed)
ATLAS_STALE_S = 300


@dataclass
class AtlasJob:
    """What a status record holds (the records themselves are plain dicts, as the queue's store keeps them)."""

    key: str
    paper: str
    path: str
    query: dict
    state: str = "running"  # running | done | error | cancelled
    stage: str = "queued"  # queued | loading | drawing | writing | done
    pages_done: int = 0
    pages_total: int = 17
    error: str | None = None
    task_id: str | None = None
    area: str = cartography.PROVINCE_ADCODE  # the province's atlas, or a prefecture's county atlas
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    finished: float | None = None


_ATLAS_LOCK = threading.Lock()
#: inline mode: slot (paper size, and the prefecture of a county atlas: :func:`_atlas_slot`) -> the latest job
#: record of that slot (at most one running per slot)
_ATLAS_JOBS: dict[str, dict] = {}


class LocalJobs:
    """Atlas job records of this process (inline mode)."""

    def get(self, paper: str) -> dict | None:
        rec = _ATLAS_JOBS.get(paper)
        return dict(rec) if rec is not None else None

    def update(self, paper: str, **changes) -> None:
        with _ATLAS_LOCK:
            _ATLAS_JOBS.setdefault(paper, {}).update(changes, updated=time.time())

    def start(self, paper: str, record: dict) -> bool:
        """Store ``record`` as the running job of ``paper`` unless one is running; True when stored."""
        with _ATLAS_LOCK:
            current = _ATLAS_JOBS.get(paper)
            if current is not None and _running(current):
                return False
            _ATLAS_JOBS[paper] = record
            return True

    def finish(self, paper: str) -> None:
        pass


class QueueJobs:
    """Atlas job records in the job queue's store (queue mode: shared by every web and worker process)."""

    def __init__(self, q):
        self.q = q

    def get(self, paper: str) -> dict | None:
        from webmap import jobs

        return jobs.get_status(f"atlas:{paper}", self.q)

    def update(self, paper: str, **changes) -> None:
        from webmap import jobs

        jobs.update_status(f"atlas:{paper}", self.q, **changes, updated=time.time())

    def start(self, paper: str, record: dict) -> bool:
        from webmap import jobs

        name = f"atlas:{paper}"
        if not jobs.claim(name, record["key"], self.q):
            current = self.get(paper)
            if current is not None and _running(current):
                return False
            jobs.release(name, self.q)  # the holder is gone (finished, failed or its worker was killed)
            if not jobs.claim(name, record["key"], self.q):
                return False
        jobs.put_status(name, record, self.q)
        return True

    def finish(self, paper: str) -> None:
        from webmap import jobs

        jobs.release(f"atlas:{paper}", self.q)


def _running(rec: dict) -> bool:
    return rec.get("state") == "running" and time.time() - rec.get("updated", 0) < ATLAS_STALE_S


def _jobs_store():
    from webmap import jobs

    if jobs.uses_queue():
        return QueueJobs(jobs.get_queue(current_app.config.get("JOBS_QUEUE_URL")))
    return LocalJobs()


# -- the county atlas: which atlas a request asks for, where its job and file are (issue 12 §4)


def _atlas_area() -> str:
    """The ``area`` of an atlas request: the province (default) or a prefecture (adcode or name) for its county
    atlas; a county or an unknown name raises :class:`PrintError` naming ``area``."""
    _single("area")
    return cartography.parse_atlas_area(request.args.get("area", "yunnan"))


def _atlas_slot(paper: str, area: str, distance: str = "straight") -> str:
    """The job slot of an atlas: the paper size for the province's, ``A4-530100`` for a county atlas, and
    ``-walk`` after either when measured on foot (its own job beside the straight-line one, issue 13)."""
    slot = paper if area == cartography.PROVINCE_ADCODE else f"{paper}-{area}"
    return slot + ("-walk" if distance == "network" else "")


def _atlas_file(folder: Path, paper: str, area: str, key: str = "*", distance: str = "straight") -> Path:
    """Where an atlas is kept (``key="*"``: the pattern of every version of it, for pruning); an atlas on foot
    has names of its own, so pruning one kind never deletes the other."""
    walk = "walk-" if distance == "network" else ""
    if area == cartography.PROVINCE_ADCODE:
        return folder / f"atlas-{walk}{paper}-{key}.pdf"
    return folder / f"county-atlas-{walk}{area}-{paper}-{key}.pdf"


def _atlas_pages_total(paper: str, area: str) -> int:
    """How many pages the atlas will have (17 for the province's)."""
    if area == cartography.PROVINCE_ADCODE:
        return 17
    try:
        pages = cartography.atlas_pages(_context(), area, paper)
        return 1 + sum(1 + n for _p, n in pages.values())
    except Exception:  # noqa: BLE001 - only a figure for the progress bar; the job reports the real one
        return 0



def _atlas_args():
    """Validated (paper, layers, radius, symbols, distance) of an atlas request, or raises PrintError;
    ``distance=network`` without a street network is a 409 (issue 13), its radius defaults to 1,125 m."""
    _single("paper", "radius", "symbols", "distance")
    args = request.args
    distance = distance_kind(Params.query())
    paper = cartography.parse_paper(args.get("paper", "A4"))
    layers_list = args.getlist("layers")
    layers = cartography.parse_layers(",".join(layers_list) if layers_list else None)
    radius = cartography.parse_radius(args.get("radius", default_radius(distance, None) if distance == "network"
                                               else cartography.DEFAULT_RADIUS_M))
    symbols = cartography.parse_symbols(args.get("symbols", cartography.DEFAULT_SYMBOLS))
    return paper, layers, radius, symbols, distance


def _atlas_target(paper, layers, radius, symbols, area=cartography.PROVINCE_ADCODE,
                  distance: str = "straight") -> tuple[str, Path]:
    """The key of an atlas (registry snapshot + arguments; on foot also the street network) and the file it is
    kept in under var/print/."""
    from stations import config
    from webmap import get_store

    snap = get_store().snapshot()
    extra = "" if symbols == cartography.DEFAULT_SYMBOLS else f"|{symbols}"
    extra += "" if area == cartography.PROVINCE_ADCODE else f"|{area}"
    if distance == "network":  # a rebuilt network is another atlas
        extra += "|network|" + "|".join(map(str, network_key(require_network())))
    key = hashlib.sha1(f"{snap.version}|{paper}|{','.join(layers)}|{radius}{extra}".encode()).hexdigest()[:16]
    try:
        folder = config.var_dir() / "print"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "yizhan-print"
        folder.mkdir(parents=True, exist_ok=True)
    return key, _atlas_file(folder, paper, area, key, distance)


def _atlas_query(paper, layers, radius, symbols, area=cartography.PROVINCE_ADCODE, distance: str = "straight") -> dict:
    query = {"paper": paper, "radius": f"{radius:g}"}
    if distance == "network":
        query["distance"] = distance
    if area != cartography.PROVINCE_ADCODE:
        query["area"] = area
    if tuple(layers) != cartography.DEFAULT_LAYERS:
        query["layers"] = ",".join(layers)
    if symbols != cartography.DEFAULT_SYMBOLS:
        query["symbols"] = symbols
    return query


def _status(job: dict | None, paper: str, key: str, path: Path, query: dict, total: int = 17) -> dict:
    """The JSON status of the atlas ``key``: idle, running, done, error or cancelled."""
    body = {
        "paper": paper,
        "state": "idle",
        "stage": None,
        "pages_done": 0,
        "pages_total": total,
        "status_url": url_for("print_views.atlas_status", **query),
        "download_url": None,
        "error": None,
    }
    if path.exists():
        body.update(state="done", stage="done", pages_done=body["pages_total"],
                    download_url=url_for("print_views.atlas", **query))
        if job is not None and job.get("key") == key and job.get("finished"):
            body["seconds"] = round(job["finished"] - job["started"], 1)
        return body
    if job is not None and job.get("key") == key:
        state = job["state"]
        if state == "running" and not _running(job):
            state, job = "error", {**job, "error": "the worker drawing this atlas stopped; ask again"}
        body.update(state=state, stage=job.get("stage"), pages_done=job.get("pages_done", 0),
                    pages_total=job.get("pages_total", 17), error=job.get("error"))
        body["seconds"] = round((job.get("finished") or time.time()) - job["started"], 1)
    elif job is not None and _running(job):
        body["busy"] = True  # another atlas of this paper size (other layers or radius) is being drawn
    return body


def _prune_atlases(latest: Path, paper: str, area: str = cartography.PROVINCE_ADCODE,
                   distance: str = "straight") -> list[Path]:
    """Delete the atlases of ``paper`` in ``latest``'s folder that are older than ``latest`` (other data
    versions or other layers, radius or symbols): only the latest atlas of each paper size is kept.
    Returns the files deleted."""
    deleted = []
    try:
        newest = latest.stat().st_mtime
    except OSError:
        return deleted
    for path in latest.parent.glob(_atlas_file(latest.parent, paper, area, distance=distance).name):
        try:
            if path != latest and path.stat().st_mtime <= newest:
                path.unlink()
                deleted.append(path)
        except OSError:  # already gone, or not ours to delete: leave it
            continue
    if deleted:
        log.info("atlas %s: deleted %d older %s atlas(es)", latest.name, len(deleted), paper)
    return deleted


def atlas_job_spec(paper, layers, radius, symbols, key: str, path: Path, area: str = cartography.PROVINCE_ADCODE,
                   slot: str | None = None, distance: str = "straight") -> dict:
    """What a job needs to draw an atlas: small plain values (the worker loads the registry itself)."""
    from webmap import get_store, jobs

    spec = {"paper": paper, "layers": list(layers), "radius": float(radius), "symbols": symbols, "key": key,
            "path": str(path), "version": get_store().snapshot().version, "area": area, "slot": slot or paper,
            "distance": distance}
    if jobs.uses_queue():
        spec["config"] = jobs.shared_config(current_app)
    return spec


def run_atlas_job(app, spec: dict, q) -> str:
    """The atlas job in a worker process (:data:`webmap.jobs.LONG_JOBS`): progress in the queue's store."""
    return draw_atlas_job(app, spec, QueueJobs(q))


def draw_atlas_job(app, spec: dict, store) -> str:
    """Draw the atlas of ``spec`` into its file with progress in ``store`` (:class:`LocalJobs` or :class:`QueueJobs`);
    in a worker process or a thread of the web process. Cancelled jobs (:func:`webmap.jobs.cancel`) stop after the
    page being drawn; a failed or cancelled job leaves no file behind."""
    from webmap import jobs

    paper = spec["paper"]
    area = spec.get("area", cartography.PROVINCE_ADCODE)
    slot = spec.get("slot", paper)  # the store's key: the paper size, and the prefecture of a county atlas
    path = Path(spec["path"])
    tmp = path.with_name(path.stem + f".{os.getpid()}.{threading.get_ident()}.part")
    started = time.time()

    def on_page(done: int, total: int) -> None:
        store.update(slot, pages_done=done, pages_total=total, stage="drawing")
        jobs.check_cancelled()

    local = jobs.local_job(f"atlas:{slot}") if isinstance(store, LocalJobs) else contextlib.nullcontext()
    try:
        local.__enter__()
        store.update(slot, stage="loading")
        distance = spec.get("distance", "straight")
        with app.app_context():  # the app's stations, cached per registry snapshot (and network when on foot)
            context = _context(require_network() if distance == "network" else None)
        jobs.check_cancelled()
        with open(tmp, "wb") as fh:  # a file object: make_atlas checks the suffix of paths only
            cartography.make_atlas(paper, fh, progress=False, area=area, layers=tuple(spec["layers"]),
                                   radius=spec["radius"], symbols=spec["symbols"], context=context, on_page=on_page)
        store.update(slot, stage="writing")
        tmp.replace(path)
        _prune_atlases(path, paper, area, distance)
        rec = store.get(slot) or {}
        store.update(slot, state="done", stage="done", pages_done=rec.get("pages_total", 17), finished=time.time())
        log.info("atlas %s drawn in %.1f s", path.name, time.time() - started)
        return str(path)
    except jobs.JobCancelled:
        log.info("atlas %s cancelled", path.name)
        store.update(slot, state="cancelled", error="cancelled", finished=time.time())
        return ""
    except Exception as exc:  # reported in the status, never a hung request
        log.exception("atlas %s failed", path.name)
        store.update(slot, state="error", error=f"{type(exc).__name__}: {exc}", finished=time.time())
        return ""
    finally:
        local.__exit__(None, None, None)
        store.finish(slot)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def _accepted(body: dict, status: int = 202):
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["Retry-After"] = str(ATLAS_RETRY_AFTER_S)
    resp.headers["Location"] = body["status_url"]
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/print/atlas.pdf")
def atlas():
    """The 17-page atlas (cover + 16 prefecture sheets) as a PDF when it has been drawn for this registry
    snapshot and these arguments; otherwise 202 and a job that draws it (see :func:`atlas_status`)."""
    from webmap import jobs

    paper, layers, radius, symbols, distance = _atlas_args()
    area = _atlas_area()
    slot = _atlas_slot(paper, area, distance)
    key, path = _atlas_target(paper, layers, radius, symbols, area, distance)
    query = _atlas_query(paper, layers, radius, symbols, area, distance)
    total = _atlas_pages_total(paper, area)
    if not path.exists():
        _check_budget(layers, radius)

    def pdf():
        return send_file(path, mimetype="application/pdf", as_attachment=request.args.get("download") == "1",
                         download_name=(f"yunnan-atlas-{paper}" if area == cartography.PROVINCE_ADCODE
                                        else f"atlas-{area}-{paper}") + ("-walk" if distance == "network" else "")
                         + ".pdf", max_age=0)

    if path.exists():
        return pdf()
    store = _jobs_store()
    queued = isinstance(store, QueueJobs)
    if queued and not jobs.consumer_alive(store.q):
        return jobs.busy_no_worker()
    record = asdict(AtlasJob(key=key, paper=paper, path=str(path), query=query, area=area, pages_total=total))
    if not store.start(slot, record):
        job = store.get(slot)  # one at a time per paper size (and prefecture): this one, or another one (409)
        return _accepted(_status(job, paper, key, path, query, total), 202 if job and job.get("key") == key else 409)
    if path.exists():  # finished between the check above and the claim
        store.finish(slot)
        return pdf()
    spec = atlas_job_spec(paper, layers, radius, symbols, key, path, area=area, slot=slot, distance=distance)
    if queued:
        result = jobs.submit("atlas", spec, store.q)
        store.update(slot, task_id=result.id)
    else:
        app = current_app._get_current_object()
        threading.Thread(target=draw_atlas_job, args=(app, spec, store), name=f"atlas-{slot}", daemon=True).start()
    return _accepted(_status(store.get(slot), paper, key, path, query, total))


@bp.get("/print/atlas/status")
def atlas_status():
    """JSON status of the atlas for ``paper`` (and ``layers``, ``radius``, ``symbols``): ``state`` is idle (not
    started), running (``stage``, ``pages_done`` of ``pages_total``), done (``download_url``), error (``error``) or
    cancelled."""
    paper, layers, radius, symbols, distance = _atlas_args()
    area = _atlas_area()
    key, path = _atlas_target(paper, layers, radius, symbols, area, distance)
    total = _atlas_pages_total(paper, area)
    body = _status(_jobs_store().get(_atlas_slot(paper, area, distance)), paper, key, path,
                   _atlas_query(paper, layers, radius, symbols, area, distance), total)
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    if body["state"] == "running":
        resp.headers["Retry-After"] = str(ATLAS_RETRY_AFTER_S)
    return resp


@bp.post("/print/atlas/cancel")
def atlas_cancel():
    """Cancel the running atlas job of ``paper`` (and these arguments): a queued job never starts, a running one
    stops after its current page. Answers the status (``cancelled``, or what it was when nothing ran)."""
    from webmap import jobs

    paper, layers, radius, symbols, distance = _atlas_args()
    area = _atlas_area()
    slot = _atlas_slot(paper, area, distance)
    key, path = _atlas_target(paper, layers, radius, symbols, area, distance)
    store = _jobs_store()
    job = store.get(slot)
    if job is not None and job.get("key") == key and _running(job):
        if isinstance(store, QueueJobs) and job.get("task_id"):
            jobs.cancel(job["task_id"], store.q)
            if job.get("stage") == "queued":  # never started: its worker will skip it, nobody else says so
                store.update(slot, state="cancelled", error="cancelled", finished=time.time())
                store.finish(slot)
        else:
            jobs.cancel_local(f"atlas:{slot}")
        log.info("atlas %s %s: cancel asked", paper, key)
    body = _status(store.get(slot), paper, key, path, _atlas_query(paper, layers, radius, symbols, area, distance),
                   _atlas_pages_total(paper, area))
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp
