"""The management area, part one (blueprint ``manage``, ``/manage``): logging in and out, the report queue of
the official's area, resolving reports, and the audit log (per area or station, CSV/XLSX export, revert).

Stations and registry uploads are in :mod:`webmap.manage_stations`; the checks every request passes (session
expiry, CSRF, login) in :mod:`webmap.manage_auth`. Chinese first like the rest of the site. Every change goes
through :mod:`stations` (reports, edits, audit), which checks the official's area on the server; after a write
the station store is told (:meth:`webmap.StationStore.invalidate`), so the finder shows it at once.
"""

from __future__ import annotations

import io
import logging
import time
from urllib.parse import urlparse

from flask import Blueprint, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from flask_wtf.csrf import CSRFError

from stations import audit, edits, reports
from stations.errors import AccessError, InputError
from stations.export import write_table
from stations.limits import LIMITS
from stations.schema import REPORT_REASONS, RESOLUTIONS, ROLES
from stations.users import area_name
from webmap import get_store
from webmap.manage_auth import (
    Official,
    csrf_error,
    error_text,
    guard,
    official,
    page_lang,
    registry,
    show_error,
    users,
)
from webmap.security import client_address, limiter

log = logging.getLogger(__name__)

bp = Blueprint("manage", __name__, url_prefix="/manage")
bp.before_request(guard)
bp.register_error_handler(CSRFError, csrf_error)

PAGE = int(LIMITS["manage_page"].default)


@bp.app_context_processor
def _manage_context():
    return {"report_reasons": REPORT_REASONS, "resolutions": RESOLUTIONS, "roles": ROLES, "area_name": area_name}


def _login_per_client() -> str:
    return f"{int(LIMITS['logins_per_client_minute'].hi)} per minute"


def _login_per_user() -> str:
    return f"{int(LIMITS['logins_per_user_hour'].hi)} per hour"


def _login_key() -> str:
    return "login:" + (request.form.get("username") or "").strip().lower()[:64]


def _too_many_logins() -> str:
    return _("Too many login attempts. Please wait a while and try again.")


def _safe_next(target: str | None) -> str:
    """Only a path inside this site (no other host, no scheme) is followed after login."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("manage.queue")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_per_client, methods=["POST"], error_message=_too_many_logins)
@limiter.limit(_login_per_user, methods=["POST"], key_func=_login_key, error_message=_too_many_logins)
def login():
    if request.method == "GET":
        return render_template("manage/login.html", next=request.args.get("next", ""))
    username = (request.form.get("username") or "").strip()
    try:
        user = users().authenticate(username, request.form.get("password") or "")
    except AccessError as exc:
        log.info("failed login for %r from %s", username[:64], client_address())
        return render_template("manage/login.html", error=error_text(exc), username=username[:64],
                               next=request.form.get("next", "")), 401
    session.clear()
    session.permanent = True
    login_user(Official(user))
    now = int(time.time())
    session["login_at"] = session["seen"] = now
    log.info("login of %s (%s)", user.username, user.role)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("manage.login"))


# --------------------------------------------------------------------------------------------- reports
@bp.get("/")
def queue():
    """The report queue of the official's area, newest first; filter by reason and status."""
    reason = request.args.get("reason") or None
    if reason not in REPORT_REASONS:
        reason = None
    status = request.args.get("status") or "open"
    if status not in ("open", "all", *RESOLUTIONS):
        status = "open"
    offset = max(0, request.args.get("offset", 0, type=int) or 0)
    user = official()
    rows, total = reports.queue(registry().engine, area=user.area_filter, reason=reason, status=status,
                                limit=PAGE, offset=offset)
    badges = reports.badges(registry().engine)
    return render_template("manage/queue.html", rows=rows, total=total, reason=reason, status=status,
                           offset=offset, page=PAGE, badges=badges, user=user)


@bp.post("/reports/<int:report_id>/resolve")
def resolve(report_id: int):
    user = official()
    try:
        out = reports.resolve(registry(), user, report_id, request.form.get("resolution", ""),
                              request.form.get("note", ""), lang=page_lang())
    except InputError as exc:
        return show_error(exc)
    get_store().invalidate()
    flash(_("Resolved %(n)s report(s); the station is marked verified today.", n=len(out["resolved"])), "ok")
    return redirect(url_for("manage.queue", **{k: v for k, v in request.args.items() if k in ("reason", "status")}))


# --------------------------------------------------------------------------------------------- audit log
def _log_query():
    user = official()
    station = (request.args.get("station") or "").strip()[:64] or None
    action = request.args.get("action") or None
    if action not in audit.ACTIONS:
        action = None
    return user, station, action


@bp.get("/log")
def log_page():
    """The audit log of the official's area (or of one station), newest first."""
    user, station, action = _log_query()
    offset = max(0, request.args.get("offset", 0, type=int) or 0)
    rows, total = audit.search(registry().engine, area=user.area_filter, station_id=station, action=action,
                               limit=PAGE, offset=offset)
    return render_template("manage/log.html", rows=rows, total=total, station=station, action=action,
                           offset=offset, page=PAGE, user=user, actions=audit.ACTIONS)


@bp.get("/log.<fmt>")
def log_export(fmt: str):
    """The same log as CSV (UTF-8 with BOM, for Excel and WPS) or XLSX."""
    if fmt not in ("csv", "xlsx"):
        return show_error(InputError("format must be csv or xlsx", param="format", status=404))
    user, station, action = _log_query()
    rows, _total = audit.search(registry().engine, area=user.area_filter, station_id=station, action=action,
                                limit=None)
    table = audit.frame(rows)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = write_table(table, fmt, Path(tmp) / f"audit.{fmt}", sheet="audit")
        data = io.BytesIO(path.read_bytes())
    name = f"yizhan-audit-{station or user.area or 'yunnan'}.{fmt}"
    mime = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return send_file(data, mimetype=mime, as_attachment=True, download_name=name, max_age=0)


@bp.post("/log/<int:entry_id>/revert")
def revert(entry_id: int):
    user = official()
    try:
        rec = edits.revert(registry(), user, entry_id, reason=request.form.get("reason", ""), lang=page_lang())
    except InputError as exc:
        return show_error(exc)
    get_store().invalidate()
    flash(_("Entry #%(id)s was reverted; the revert is logged too.", id=entry_id), "ok")
    if rec is not None:
        return redirect(url_for("manage_stations.edit", station_id=rec["id"]))
    return redirect(url_for("manage.log_page"))
