"""Print pages: ``/print`` (a form) and ``/print/sheet.pdf`` / ``/print/sheet.png`` (the map sheet file).

Query parameters of the sheet: ``area`` (yunnan | prefecture or county adcode), ``paper`` (A4 | A3),
``orientation`` (portrait | landscape), ``layers`` (comma-separated, or repeated), ``radius`` (metres),
``symbols`` (status | services: open stations graded by water, microwave, toilet and seating), ``dpi`` (PNG
only, 50-300). Bad input answers HTTP 400 with JSON ``{"error": {"parameter": ..., "message": ...}}`` (as the API).
"""

from __future__ import annotations

import io
import logging
import time

from flask import Blueprint, jsonify, render_template, request, send_file

from stations import printing

log = logging.getLogger(__name__)

bp = Blueprint("print_views", __name__)

WEB_MAX_DPI = 300


def _context():
    """A printing context over the app's loaded stations, cached per registry snapshot."""
    from webmap import get_store

    snap = get_store().snapshot()
    return snap.cached(("printing", "context"), lambda: printing.Context(stations=snap.gdf), size=64)


def _bad(message: str, parameter: str | None, status: int = 400):
    resp = jsonify({"error": {"parameter": parameter, "message": message}})  # the API's error shape
    resp.status_code = status
    return resp


def _repeated(*names: str):
    """A 400 for the first single-valued parameter given more than once (``paper=A4&paper=A3``), else None."""
    for name in names:
        if len(request.args.getlist(name)) > 1:
            return _bad(f"{name}: given more than once", name)
    return None


def _areas():
    geo = printing._geography()
    prefs = sorted(geo.prefecture_names.items())
    by_pref: dict[str, list[tuple[str, str]]] = {}
    for code, name in sorted(geo.county_names.items()):
        by_pref.setdefault(geo.county_prefecture.get(code, ""), []).append((code, name))
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
            geo = printing._geography()
            en = {str(a): str(n) for frame in (geo.prefectures, geo.counties)
                  for a, n in zip(frame["adcode"], frame["name_en"]) if isinstance(n, str) and n.strip()}
        except Exception:
            en = {}
        areas = [{**p, "name": en.get(p["adcode"], p["name"]),
                  "counties": [(code, en.get(code, name)) for code, name in p["counties"]]} for p in areas]
    try:
        from webmap import get_store

        demo = printing._is_demo(get_store().gdf)
    except Exception:
        demo = False
    return render_template(
        "print.html",
        show_demo_banner=demo,
        areas=areas,
        layers=printing.LAYERS,
        default_layers=printing.DEFAULT_LAYERS,
        papers=list(printing.PAPERS),
        symbols=list(printing.SYMBOLS),
        radius=int(printing.DEFAULT_RADIUS_M),
        error=error,
    )


@bp.get("/print/sheet.<fmt>")
def sheet(fmt: str):
    fmt = fmt.lower()
    if fmt not in ("pdf", "png"):
        return _bad(f"format: unknown file type {fmt!r}; use sheet.pdf or sheet.png", "format", 404)
    args = request.args
    if (bad := _repeated("area", "paper", "orientation", "radius", "symbols", "dpi")) is not None:
        return bad
    layers = args.getlist("layers")
    layers_arg = ",".join(layers) if layers else None
    try:
        req = printing.validate(
            args.get("area", "yunnan"),
            args.get("paper", "A4"),
            args.get("orientation", "portrait"),
            layers_arg,
            args.get("radius", printing.DEFAULT_RADIUS_M),
            args.get("symbols", printing.DEFAULT_SYMBOLS),
        )
        dpi = printing.parse_dpi(args.get("dpi", "150"))
        if dpi > WEB_MAX_DPI:
            raise printing.PrintError(f"dpi: {dpi} is out of range; give 50 to {WEB_MAX_DPI}")
    except printing.PrintError as exc:
        return _bad(str(exc), exc.param)
    t0 = time.perf_counter()
    buf = io.BytesIO()
    try:
        info = printing.make_sheet(
            req.area, req.paper, req.orientation, req.layers, req.radius, buf, fmt=fmt, dpi=dpi, context=_context(),
            symbols=req.symbols,
        )
    except printing.CJKFontError as exc:
        log.error("print: %s", exc)
        return _bad(str(exc), None, 500)
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


_ATLAS_LOCK = __import__("threading").Lock()


@bp.get("/print/atlas.pdf")
def atlas():
    """The 17-page atlas (cover + 16 prefecture sheets). Drawing it takes about 25 s here; the file is kept
    per registry snapshot and arguments, so later downloads are immediate."""
    import hashlib
    import tempfile
    from pathlib import Path

    from stations import config
    from webmap import get_store

    args = request.args
    if (bad := _repeated("paper", "radius")) is not None:
        return bad
    try:
        paper = printing.parse_paper(args.get("paper", "A4"))
        layers_list = args.getlist("layers")
        layers = printing.parse_layers(",".join(layers_list) if layers_list else None)
        radius = printing.parse_radius(args.get("radius", printing.DEFAULT_RADIUS_M))
    except printing.PrintError as exc:
        return _bad(str(exc), exc.param)
    snap = get_store().snapshot()
    key = hashlib.sha1(f"{snap.loaded_at}|{paper}|{','.join(layers)}|{radius}".encode()).hexdigest()[:16]
    try:
        folder = config.var_dir() / "print"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "yizhan-print"
        folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"atlas-{paper}-{key}.pdf"
    with _ATLAS_LOCK:
        if not path.exists():
            t0 = time.perf_counter()
            tmp = path.with_suffix(".part")
            try:
                printing.make_atlas(paper, tmp, progress=False, layers=layers, radius=radius, context=_context())
            except printing.CJKFontError as exc:
                return _bad(str(exc), None, 500)
            tmp.replace(path)
            log.info("atlas %s drawn in %.1f s", path.name, time.perf_counter() - t0)
    return send_file(path, mimetype="application/pdf", as_attachment=args.get("download") == "1",
                     download_name=f"yunnan-atlas-{paper}.pdf", max_age=0)
