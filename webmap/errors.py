"""One answer for every error, app-wide: the JSON error shape of the API.

``{"error": {"parameter": NAME | null, "message": TEXT[, "row": N, "column": C, "rows": [...]]}}`` with the
error's HTTP status, for

- every :class:`stations.errors.InputError` raised while answering any request (API, planner, print, pages:
  whoever raises it names the parameter, the row and the column);
- HTTP errors (unknown path, wrong method, body too large ...) under ``/api/``; other pages keep Flask's
  own HTML error pages.

The message is translated into the page's language when the catalogue has the error's template
(``exc.template``, an English msgid with ``%(name)s`` placeholders), otherwise it is the English text.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from stations.errors import InputError

log = logging.getLogger(__name__)


def translated(exc: InputError) -> str:
    """``exc``'s message in the request's language where the catalogue has its template."""
    try:
        text = gettext(exc.template)
    except Exception:  # noqa: BLE001 - outside a request, or a malformed template: the English text is right
        return exc.message
    if text == exc.template:
        return exc.message
    try:
        return text % exc.values if exc.values else text
    except (KeyError, ValueError, TypeError):
        return exc.message


def error_response(exc: InputError):
    """The JSON response for ``exc`` (status from the error)."""
    return jsonify({"error": exc.to_dict(translated(exc))}), exc.status


def http_error_response(exc: HTTPException, parameter: str | None = None):
    return jsonify({"error": {"parameter": parameter, "message": exc.description or exc.name}}), exc.code


def init_app(app: Flask) -> None:
    """Register the app-wide handlers."""

    @app.errorhandler(InputError)
    def _input_error(exc: InputError):
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        """Unknown paths, wrong methods and too-large bodies under /api/ answer JSON too (other pages: as before)."""
        if not request.path.startswith("/api/"):
            return exc
        parameter = "file" if exc.code == 413 and request.mimetype == "multipart/form-data" else None
        return http_error_response(exc, parameter)
