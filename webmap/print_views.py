"""Print pages: ``/print`` (a form) and ``/print/sheet.pdf`` / ``/print/sheet.png`` (the map sheet file).

Query parameters of the sheet: ``area`` (yunnan | prefecture or county adcode), ``paper`` (A4 | A3),
``orientation`` (portrait | landscape), ``layers`` (comma-separated, or repeated), ``radius`` (metres),
``symbols`` (status | services: open stations graded by water, microwave, toilet and seating), ``dpi`` (PNG
only, 50-300). Bad input raises :class:`PrintError` naming the parameter; the app-wide handler
(``webmap.errors``) answers HTTP 400 with JSON ``{"error": {"parameter": ..., "message": ...}}`` (as the API).

``area`` is ``yunnan``, an adcode or a name (昆明市, 五华区, kunming: :func:`stations.cartography.parse_area`); an
ambiguous or unknown name is a 400 listing the close matches.

``/print/atlas.pdf?paper=A4`` (also ``layers``, ``radius``, ``symbols``) serves the 17-page atlas kept in
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

import hashlib
import io
import logging
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l

from stations import cartography, geo, sheet_layers
from stations.errors import CJKFontError, PrintError
from stations.limits import LIMITS

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
#: paper -> its size, shown beside the choice on /print
PAPER_SIZES = {"A4": "210 × 297 mm", "A3": "297 × 420 mm"}

WEB_MAX_DPI = int(LIMITS["web_sheet_dpi"].hi)
WEB_DEFAULT_DPI = int(LIMITS["web_sheet_dpi"].default)


@bp.errorhandler(CJKFontError)
def _no_font(exc: CJKFontError):
    """No CJK font on the server: a 500 in the API's error shape, naming the fix."""
    log.error("print: %s", exc)
    return jsonify({"error": {"parameter": None, "message": str(exc)}}), 500


def _context():
    """A cartography context over the app's loaded stations with the analysis layers of
    :mod:`stations.sheet_layers`, cached per registry snapshot."""
    from webmap import get_store

    snap = get_store().snapshot()
    return snap.cached(("printing", "context"), lambda: sheet_layers.context(snap.gdf))


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
        error=error,
    )


@bp.get("/print/sheet.<fmt>")
def sheet(fmt: str):
    fmt = fmt.lower()
    if fmt not in ("pdf", "png"):
        raise PrintError(f"format: unknown file type {fmt!r}; use sheet.pdf or sheet.png", param="format", status=404)
    args = request.args
    _single("area", "paper", "orientation", "radius", "symbols", "dpi")
    layers = args.getlist("layers")
    req = cartography.validate(
        args.get("area", "yunnan"),
        args.get("paper", "A4"),
        args.get("orientation", "portrait"),
        ",".join(layers) if layers else None,
        args.get("radius", cartography.DEFAULT_RADIUS_M),
        args.get("symbols", cartography.DEFAULT_SYMBOLS),
    )
    dpi = cartography.parse_dpi(args.get("dpi", str(WEB_DEFAULT_DPI)), max_dpi=WEB_MAX_DPI)
    t0 = time.perf_counter()
    buf = io.BytesIO()
    info = cartography.make_sheet(
        req.area, req.paper, req.orientation, req.layers, req.radius, buf, fmt=fmt, dpi=dpi, context=_context(),
        symbols=req.symbols,
    )
    log.info("print %s %s %s %s in %.2f s", req.area, req.paper, req.orientation, fmt, time.perf_counter() - t0)
    buf.seek(0)
    name = f"yizhan-{req.area}-{req.paper}-{req.orientation}" + ("-services" if req.symbols == "services" else "") + f".{fmt}"
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
# exists; otherwise the first request starts a background job (a thread; one at a time per paper size, guarded
# by a lock) and answers 202 with the job's JSON status and a Retry-After header. ``GET /print/atlas/status``
# reports the job (pages done of 17, then the download address); an error in the job is reported there.

ATLAS_RETRY_AFTER_S = 2


@dataclass
class AtlasJob:
    """One background drawing of the atlas for a paper size."""

    key: str
    paper: str
    path: Path
    query: dict
    state: str = "running"  # running | done | error
    pages_done: int = 0
    pages_total: int = 17
    error: str | None = None
    area: str = cartography.PROVINCE_ADCODE  # the province's atlas, or a prefecture's county atlas
    started: float = field(default_factory=time.time)
    finished: float | None = None
    thread: threading.Thread | None = None


_ATLAS_LOCK = threading.Lock()
#: slot (paper size, and the prefecture of a county atlas: :func:`_atlas_slot`) -> the latest job of that slot
#: (at most one running per slot)
_ATLAS_JOBS: dict[str, AtlasJob] = {}


# -- the county atlas: which atlas a request asks for, where its job and file are (issue 12 §4)


def _atlas_area() -> str:
    """The ``area`` of an atlas request: the province (default) or a prefecture (adcode or name) for its county
    atlas; a county or an unknown name raises :class:`PrintError` naming ``area``."""
    _single("area")
    return cartography.parse_atlas_area(request.args.get("area", "yunnan"))


def _atlas_slot(paper: str, area: str) -> str:
    """The job slot of an atlas: the paper size for the province's, ``A4-530100`` for a county atlas."""
    return paper if area == cartography.PROVINCE_ADCODE else f"{paper}-{area}"


def _atlas_file(folder: Path, paper: str, area: str, key: str = "*") -> Path:
    """Where an atlas is kept (``key="*"``: the pattern of every version of it, for pruning)."""
    if area == cartography.PROVINCE_ADCODE:
        return folder / f"atlas-{paper}-{key}.pdf"
    return folder / f"county-atlas-{area}-{paper}-{key}.pdf"


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
    """Validated (paper, layers, radius, symbols) of an atlas request, or raises PrintError."""
    _single("paper", "radius", "symbols")
    args = request.args
    paper = cartography.parse_paper(args.get("paper", "A4"))
    layers_list = args.getlist("layers")
    layers = cartography.parse_layers(",".join(layers_list) if layers_list else None)
    radius = cartography.parse_radius(args.get("radius", cartography.DEFAULT_RADIUS_M))
    symbols = cartography.parse_symbols(args.get("symbols", cartography.DEFAULT_SYMBOLS))
    return paper, layers, radius, symbols


def _atlas_target(paper, layers, radius, symbols, area=cartography.PROVINCE_ADCODE) -> tuple[str, Path]:
    """The key of an atlas (registry snapshot + arguments) and the file it is kept in under var/print/."""
    from stations import config
    from webmap import get_store

    snap = get_store().snapshot()
    extra = "" if symbols == cartography.DEFAULT_SYMBOLS else f"|{symbols}"
    extra += "" if area == cartography.PROVINCE_ADCODE else f"|{area}"
    key = hashlib.sha1(f"{snap.loaded_at}|{paper}|{','.join(layers)}|{radius}{extra}".encode()).hexdigest()[:16]
    try:
        folder = config.var_dir() / "print"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "yizhan-print"
        folder.mkdir(parents=True, exist_ok=True)
    return key, _atlas_file(folder, paper, area, key)


def _atlas_query(paper, layers, radius, symbols, area=cartography.PROVINCE_ADCODE) -> dict:
    query = {"paper": paper, "radius": f"{radius:g}"}
    if area != cartography.PROVINCE_ADCODE:
        query["area"] = area
    if tuple(layers) != cartography.DEFAULT_LAYERS:
        query["layers"] = ",".join(layers)
    if symbols != cartography.DEFAULT_SYMBOLS:
        query["symbols"] = symbols
    return query


def _status(job: AtlasJob | None, paper: str, key: str, path: Path, query: dict, total: int = 17) -> dict:
    """The JSON status of the atlas ``key``: idle, running, done or error."""
    body = {
        "paper": paper,
        "state": "idle",
        "pages_done": 0,
        "pages_total": total,
        "status_url": url_for("print_views.atlas_status", **query),
        "download_url": None,
        "error": None,
    }
    if path.exists():
        body.update(state="done", pages_done=body["pages_total"], download_url=url_for("print_views.atlas", **query))
        if job is not None and job.key == key and job.finished:
            body["seconds"] = round(job.finished - job.started, 1)
        return body
    if job is not None and job.key == key:
        body.update(state=job.state, pages_done=job.pages_done, pages_total=job.pages_total, error=job.error)
        body["seconds"] = round((job.finished or time.time()) - job.started, 1)
    elif job is not None and job.state == "running":
        body["busy"] = True  # another atlas of this paper size (other layers or radius) is being drawn
    return body


def _prune_atlases(latest: Path, paper: str, area: str = cartography.PROVINCE_ADCODE) -> list[Path]:
    """Delete the atlases of ``paper`` in ``latest``'s folder that are older than ``latest`` (other data
    versions or other layers, radius or symbols): only the latest atlas of each paper size is kept.
    Returns the files deleted."""
    deleted = []
    try:
        newest = latest.stat().st_mtime
    except OSError:
        return deleted
    for path in latest.parent.glob(_atlas_file(latest.parent, paper, area).name):
        try:
            if path != latest and path.stat().st_mtime <= newest:
                path.unlink()
                deleted.append(path)
        except OSError:  # already gone, or not ours to delete: leave it
            continue
    if deleted:
        log.info("atlas %s: deleted %d older %s atlas(es)", latest.name, len(deleted), paper)
    return deleted


def _run_atlas(app, job: AtlasJob, layers, radius, symbols) -> None:
    tmp = job.path.with_name(job.path.stem + f".{threading.get_ident()}.part")

    def on_page(done: int, total: int) -> None:
        job.pages_done, job.pages_total = done, total

    try:
        with app.app_context():
            context = _context()  # the app's stations, cached per registry snapshot
        with open(tmp, "wb") as fh:  # a file object: make_atlas checks the suffix of paths only
            cartography.make_atlas(job.paper, fh, progress=False, area=job.area, layers=layers, radius=radius,
                                   symbols=symbols, context=context, on_page=on_page)
        tmp.replace(job.path)
        _prune_atlases(job.path, job.paper, job.area)
        job.state = "done"
        job.pages_done = job.pages_total
        log.info("atlas %s drawn in %.1f s", job.path.name, time.time() - job.started)
    except Exception as exc:  # reported in the status, never a hung request
        log.exception("atlas %s failed", job.path.name)
        job.error = f"{type(exc).__name__}: {exc}"
        job.state = "error"
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
    finally:
        job.finished = time.time()


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
    snapshot and these arguments; otherwise 202 and a background job that draws it (see :func:`atlas_status`)."""
    paper, layers, radius, symbols = _atlas_args()
    area = _atlas_area()
    slot = _atlas_slot(paper, area)
    key, path = _atlas_target(paper, layers, radius, symbols, area)
    query = _atlas_query(paper, layers, radius, symbols, area)
    total = _atlas_pages_total(paper, area)

    def pdf():
        return send_file(path, mimetype="application/pdf", as_attachment=request.args.get("download") == "1",
                         download_name=f"yunnan-atlas-{paper}.pdf" if area == cartography.PROVINCE_ADCODE
                         else f"atlas-{area}-{paper}.pdf", max_age=0)

    if path.exists():
        return pdf()
    with _ATLAS_LOCK:
        job = _ATLAS_JOBS.get(slot)
        if job is not None and job.state == "running":  # one at a time per paper size (and prefecture)
            return _accepted(_status(job, paper, key, path, query, total), 202 if job.key == key else 409)
        started = not path.exists()  # (it may have been finished between the check above and the lock)
        if started:
            job = AtlasJob(key=key, paper=paper, path=path, query=query, area=area, pages_total=total)
            app = current_app._get_current_object()
            job.thread = threading.Thread(target=_run_atlas, args=(app, job, layers, radius, symbols),
                                          name=f"atlas-{slot}", daemon=True)
            _ATLAS_JOBS[slot] = job
            job.thread.start()
    if not started:
        return pdf()
    return _accepted(_status(job, paper, key, path, query, total))


@bp.get("/print/atlas/status")
def atlas_status():
    """JSON status of the atlas for ``paper`` (and ``layers``, ``radius``, ``symbols``): ``state`` is idle (not
    started), running (``pages_done`` of ``pages_total``), done (``download_url``) or error (``error``)."""
    paper, layers, radius, symbols = _atlas_args()
    area = _atlas_area()
    key, path = _atlas_target(paper, layers, radius, symbols, area)
    total = _atlas_pages_total(paper, area)
    with _ATLAS_LOCK:
        job = _ATLAS_JOBS.get(_atlas_slot(paper, area))
        body = _status(job, paper, key, path, _atlas_query(paper, layers, radius, symbols, area), total)
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    if body["state"] == "running":
        resp.headers["Retry-After"] = str(ATLAS_RETRY_AFTER_S)
    return resp
