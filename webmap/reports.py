"""Workers' reports from the finder (blueprint ``reports``): ``POST /api/stations/<id>/reports`` and the strings
the finder's report button shows (``GET /api/reports/strings``); the badge and last-verified date of each
station row (:func:`row_extras`, used by :mod:`webmap.features`).

No login and no personal data: a report is a reason and an optional short text; the client address is kept only
as a keyed hash (:func:`stations.reports.client_digest`). Abuse control: per-client rate limits
(:data:`webmap.security.limiter`: ``reports_per_client_hour`` and ``_day`` of :mod:`stations.limits`), a body
size limit, JSON only (a cross-site HTML form cannot send it without the browser asking first), and a
honeypot field ``website`` that people never see or fill: a request with it is answered like a success and
stored nowhere. CSRF tokens are not asked for here: the endpoint acts on no session, so a forged request
from another site can do nothing that a direct one cannot; the limits above are what guards it. The text is
stored as text and every page renders it escaped (``textContent`` in the finder, Jinja's autoescape in the
management area).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _

from stations import reports as domain
from stations.errors import InputError, LimitError
from stations.limits import LIMITS
from stations.schema import REPORT_REASONS
from webmap import get_store, openapi
from webmap.i18n import pick
from webmap.security import client_address, limiter

log = logging.getLogger(__name__)

bp = Blueprint("reports", __name__, url_prefix="/api")
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_BODY = int(LIMITS["report_body_bytes"].hi)


def _too_many() -> str:
    return _("Too many reports from this device. Please try again later.")


def _per_hour() -> str:
    return f"{int(LIMITS['reports_per_client_hour'].hi)} per hour"


def _per_day() -> str:
    return f"{int(LIMITS['reports_per_client_day'].hi)} per day"


def local_date(iso: str) -> str:
    """An ISO time as the local date (Asia/Shanghai), ``YYYY-MM-DD``."""
    try:
        return datetime.fromisoformat(iso).astimezone(SHANGHAI).date().isoformat()
    except (TypeError, ValueError):
        return ""


def badge(snap, station_id: str) -> dict | None:
    """The finder's badge for a station with open reports: how many, the latest reason (key and label), its
    date, and whether it is reported closed; None without open reports."""
    b = snap.reports.get(station_id)
    if not b:
        return None
    reason = b["reason"]
    return {"open": int(b["open"]), "reason": reason,
            "reason_label": pick(REPORT_REASONS[reason]) if reason in REPORT_REASONS else reason,
            "at": b["at"], "date": local_date(b["at"]), "reported_closed": bool(b["reported_closed"])}


def row_extras(snap, station_id: str, row: dict) -> dict:
    """The properties issue 10 adds to a station row: ``last_verified`` (date or null) and ``reports``."""
    verified = row.get("last_verified")
    return {"last_verified": str(verified) if verified else None, "reports": badge(snap, station_id)}


def strings() -> dict:
    """What the finder's report button shows, in the request's language."""
    return {
        "reasons": [{"key": k, "label": pick(v)} for k, v in REPORT_REASONS.items()],
        "text_max": int(LIMITS["report_text_chars"].hi),
        "strings": {
            "report": _("Report a problem"),
            "choose": _("What is wrong? Tap one:"),
            "text": _("Anything to add? (optional)"),
            "sent": _("Thank you. The union office will check it."),
            "failed": _("Could not send the report. Please try again."),
            "cancel": _("Cancel"),
            "verified": _("Last verified"),
            "never_verified": _("Not verified yet"),
            "open_reports": _("%(n)s open report(s), latest: %(reason)s on %(date)s"),
            "reported_closed": _("Reported closed"),
        },
    }


@bp.get("/reports/strings")
def report_strings():
    resp = jsonify(strings())
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.vary.add("Accept-Language")
    return resp


@bp.post("/stations/<station_id>/reports")
@limiter.limit(_per_hour, error_message=_too_many)
@limiter.limit(_per_day, error_message=_too_many)
def submit(station_id: str):
    """Store a worker's report (201), or answer a honeypot like a success (202) storing nothing."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise LimitError("the report is larger than %(most)s bytes", param="body", most=MAX_BODY)
    raw = request.stream.read(MAX_BODY + 1)  # a chunked body has no Content-Length: read no more than the limit
    if len(raw) > MAX_BODY:
        raise LimitError("the report is larger than %(most)s bytes", param="body", most=MAX_BODY)
    try:
        body = json.loads(raw.decode("utf-8")) if request.is_json else None
    except (UnicodeDecodeError, ValueError):
        body = None
    if not request.is_json or not isinstance(body, dict):
        raise InputError("send the report as a JSON object: {\"reason\": ..., \"text\": ...}", param="body",
                         status=415 if not request.is_json else 400)
    if str(body.get("website") or "").strip():
        log.info("report honeypot filled for %s: nothing stored", station_id[:64])
        return jsonify({"ok": True, "message": _("Thank you. The union office will check it.")}), 202
    text = body.get("text") or ""
    if not isinstance(text, str):
        raise InputError("text must be text", param="text")
    store = get_store()
    report = domain.submit(store.registry(), station_id, str(body.get("reason") or ""), text,
                           client=domain.client_digest(client_address(), current_app.secret_key))
    store.invalidate()
    return jsonify({"ok": True, "report": {"id": report["id"], "station_id": station_id, "reason": report["reason"],
                                           "created_at": report["created_at"]},
                    "message": _("Thank you. The union office will check it.")}), 201


OPENAPI_PATHS = {
    "/api/stations/{id}/reports": {"post": {
        "summary": "Report a problem with a station (no login; rate-limited per client)",
        "parameters": [openapi.param("id", "path", required=True)],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"],
            "properties": {"reason": {"type": "string", "enum": list(REPORT_REASONS)},
                           "text": {"type": "string", "maxLength": int(LIMITS["report_text_chars"].hi)}}}}}},
        "responses": {"201": {"description": "stored"}, "400": openapi.ERROR, "404": openapi.ERROR,
                      "413": openapi.ERROR, "415": openapi.ERROR, "429": openapi.ERROR},
    }},
    "/api/reports/strings": {"get": {
        "summary": "The report reasons and the finder's report strings in the page's language",
        "parameters": [openapi.LANG],
        "responses": {"200": {"description": "{reasons, text_max, strings}"}},
    }},
}
