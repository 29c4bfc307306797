"""The management area, part two (blueprint ``manage_stations``, ``/manage/stations`` and ``/manage/upload``):
find a station in the official's area, add one by clicking the map or typing coordinates (WGS-84, or GCJ-02
as copied from Amap), edit it, close or reopen it, see its history; upload a registry file, see the preview
(additions, changes, rejected rows with row and column) and accept or discard it.

The checks that matter are in :mod:`stations.edits` and :mod:`stations.uploads`, on the server: the area of
the station before and after the change, the version the form was made from, the validation of every field.
A refused change re-renders the form with the official's input and a message in the page's language; the
registry is unchanged.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.utils import secure_filename

from stations import audit, edits, uploads
from stations.errors import ImportFileError, InputError, LimitError
from stations.limits import LIMITS
from stations.schema import HOSTS, SERVICES, STATUSES
from webmap import get_store
from webmap.i18n import pick
from webmap.manage_auth import (
    csrf_error,
    error_text,
    guard,
    official,
    page_lang,
    registry,
    require_editor,
    show_error,
)

bp = Blueprint("manage_stations", __name__, url_prefix="/manage")
bp.before_request(guard)
bp.register_error_handler(CSRFError, csrf_error)

PAGE = int(LIMITS["manage_page"].default)
UPLOAD_MAX = int(LIMITS["registry_upload_bytes"].hi)
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".geojson", ".json", ".gpkg")


def _map_config() -> dict:
    """What manage.js needs for the station map: tiles, their datum, the outlines and the bounds."""
    from webmap.api import outlines_available
    from webmap.maps import YUNNAN_BOUNDS, tile_config

    tiles = tile_config(current_app.config.get("TILES"), current_app.config.get("TIANDITU_KEY", ""))
    return {"tiles": [dict(layer) for layer in tiles.layers], "crs": tiles.crs,
            "outlines": url_for("api.outlines", level="__LEVEL__"), "outline_levels": outlines_available(),
            "stations": url_for("api.stations", fields="compact", limit=10000),
            "bounds": [list(YUNNAN_BOUNDS[0]), list(YUNNAN_BOUNDS[1])],
            "strings": {"picked": _("Location set from the map (WGS-84)"),
                        "confirm_close": _("Close this station? Workers will see it as closed."),
                        "confirm_revert": _("Revert this change? The revert is logged too.")}}


def _choices() -> dict:
    return {"hosts": [(k, pick(v)) for k, v in HOSTS.items()], "services": [(k, pick(v)) for k, v in SERVICES.items()],
            "statuses": [(k, pick(v)) for k, v in STATUSES.items()]}


def _form_fields() -> dict:
    f = request.form
    return {"name": f.get("name", ""), "address": f.get("address", ""), "lon": f.get("lon", ""),
            "lat": f.get("lat", ""), "host": f.get("host", "other"), "services": f.getlist("services"),
            "opening_hours": f.get("opening_hours", ""), "phone": f.get("phone", ""),
            "status": f.get("status", "open")}


def _render_form(station: dict | None, values: dict, *, error=None, error_param=None, history=None, status=200):
    return render_template("manage/station.html", station=station, values=values, error=error,
                           error_param=error_param, history=history or [], map_config=_map_config(),
                           crs=request.form.get("crs", "wgs84"), user=official(), **_choices()), status


def _values_of(rec: dict) -> dict:
    return {"name": rec["name"], "address": rec["address"], "lon": f"{float(rec['lon']):.7f}".rstrip("0"),
            "lat": f"{float(rec['lat']):.7f}".rstrip("0"), "host": rec["host"],
            "services": [k for k in SERVICES if rec.get(k)], "opening_hours": rec["opening_hours"],
            "phone": rec["phone"], "status": rec["status"]}


@bp.get("/stations")
def stations():
    """Stations of the official's area (all of Yunnan for administrators and viewers), by name or id."""
    user = official()
    q = (request.args.get("q") or "").strip()[:50]
    gdf = get_store().snapshot().gdf
    frame = gdf.drop(columns="geometry")
    if user.area_filter:
        frame = frame[(frame["prefecture_adcode"] == user.area) | (frame["county_adcode"] == user.area)]
    if q:
        frame = frame[frame["name"].str.contains(q, regex=False) | frame["id"].str.contains(q, regex=False)]
    offset = max(0, request.args.get("offset", 0, type=int) or 0)
    rows = frame.iloc[offset: offset + PAGE].to_dict("records")
    return render_template("manage/stations.html", rows=rows, total=len(frame), q=q, offset=offset, page=PAGE,
                           user=user, statuses=STATUSES)


@bp.route("/stations/new", methods=["GET", "POST"])
def new():
    if request.method == "GET":
        return _render_form(None, {"status": "open", "host": "union", "services": ["water", "charging"]})
    values = _form_fields()
    try:
        require_editor()
        rec = edits.create(registry(), official(), values, crs=request.form.get("crs", "wgs84"),
                           reason=request.form.get("reason", ""), verified=bool(request.form.get("verified")),
                           lang=page_lang())
    except InputError as exc:
        if request.is_json:
            return show_error(exc)
        return _render_form(None, values, error=error_text(exc), error_param=exc.param, status=exc.status)
    get_store().invalidate()
    flash(_("Station %(name)s was added.", name=rec["name"]), "ok")
    return redirect(url_for("manage_stations.edit", station_id=rec["id"]))


def _stored(station_id: str) -> dict:
    rec = registry().get(station_id)
    if rec is None:
        abort(404)
    return rec


@bp.route("/stations/<station_id>", methods=["GET", "POST"])
def edit(station_id: str):
    rec = _stored(station_id)
    history = audit.history(registry().engine, station_id, limit=50)
    if request.method == "GET":
        return _render_form(rec, _values_of(rec), history=history)
    values = _form_fields()
    try:
        require_editor()
        edits.update(registry(), official(), station_id, request.form.get("version"), values,
                     crs=request.form.get("crs", "wgs84"), reason=request.form.get("reason", ""),
                     verified=bool(request.form.get("verified")), lang=page_lang())
    except InputError as exc:
        return _render_form(registry().get(station_id) or rec, values, error=error_text(exc), error_param=exc.param,
                            history=history, status=exc.status)
    get_store().invalidate()
    flash(_("Saved."), "ok")
    return redirect(url_for("manage_stations.edit", station_id=station_id))


@bp.post("/stations/<station_id>/status")
def set_status(station_id: str):
    _stored(station_id)
    try:
        require_editor()
        edits.set_status(registry(), official(), station_id, request.form.get("version"),
                         request.form.get("status", ""), reason=request.form.get("reason", ""), lang=page_lang())
    except InputError as exc:
        return show_error(exc)
    get_store().invalidate()
    flash(_("Status changed."), "ok")
    return redirect(url_for("manage_stations.edit", station_id=station_id))


# --------------------------------------------------------------------------------------------- uploads
@bp.route("/upload", methods=["GET", "POST"])
def upload():
    """A registry file: validated and previewed; nothing is written until the preview is accepted."""
    if request.method == "GET":
        return render_template("manage/upload.html", preview=None, user=official())
    try:
        require_editor()
        file = request.files.get("file")
        if file is None or not file.filename:
            raise ImportFileError("choose a file to upload (CSV, XLSX, GeoJSON or GeoPackage)")
        name = secure_filename(file.filename) or "upload.csv"
        suffix = Path(file.filename).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise ImportFileError("%(name)s: use a CSV, TSV, XLSX, GeoJSON or GeoPackage file", name=file.filename[:80])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            file.save(path)
            if path.stat().st_size > UPLOAD_MAX:
                raise LimitError("the file is larger than %(mb)s MB", param="file", mb=UPLOAD_MAX // (1024 * 1024))
            pv = uploads.preview(registry(), official(), path, filename=file.filename,
                                 crs=request.form.get("crs", "wgs84"), lang=page_lang())
    except InputError as exc:
        return show_error(exc, "manage/upload.html", preview=None, user=official())
    return render_template("manage/upload.html", preview=pv, user=official(), name=name)


@bp.post("/upload/<upload_id>/apply")
def upload_apply(upload_id: str):
    try:
        require_editor()
        res = uploads.apply(registry(), official(), upload_id, reason=request.form.get("reason", ""),
                            lang=page_lang())
    except InputError as exc:
        return show_error(exc)
    get_store().invalidate()
    flash(_("Upload applied: %(added)s added, %(changed)s changed.", added=res.inserted, changed=res.updated), "ok")
    return redirect(url_for("manage.log_page"))


@bp.post("/upload/<upload_id>/discard")
def upload_discard(upload_id: str):
    uploads.discard(registry(), official(), upload_id)
    flash(_("Upload discarded; nothing was written."), "info")
    return redirect(url_for("manage_stations.upload"))
