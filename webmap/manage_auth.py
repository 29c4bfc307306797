"""What the management blueprints (:mod:`webmap.manage`, :mod:`webmap.manage_stations`) share: who is logged in,
the checks run before every request, and how an error is shown.

Before every request of the management area (:func:`guard`):

1. a logged-in session older than :data:`webmap.security.SESSION_MAX`, or idle longer than
   :data:`~webmap.security.SESSION_IDLE`, is ended ("your session has expired"), checked on the server from
   the times kept in the signed session;
2. a state-changing request (POST, PUT, PATCH, DELETE) must carry the session's CSRF token (form field
   ``csrf_token`` or header ``X-CSRFToken``): Flask-WTF's ``csrf.protect()``; without it the answer is 400
   with a message in the page's language and nothing changes;
3. every page but the login needs a logged-in official (else the login page, or 401 for JSON).

Users come from :class:`stations.users.Users`; the session holds ``"<id>:<token>"`` where the token changes
with the user's password (:attr:`stations.users.User.session_token`), so a password change or a disabled
account ends her sessions at their next request.
"""

from __future__ import annotations

import time

from flask import current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, logout_user
from flask_wtf.csrf import CSRFError

from stations.errors import AccessError, InputError
from stations.users import User, Users
from webmap import get_store
from webmap.errors import translated
from webmap.i18n import lang
from webmap.security import SESSION_IDLE, SESSION_MAX, csrf, login_manager

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
OPEN_ENDPOINTS = ("manage.login",)


class Official(UserMixin):
    """A :class:`stations.users.User` for Flask-Login."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_token}"

    @property
    def is_active(self) -> bool:
        return self.user.active


def registry():
    """The registry of this app (the station store's)."""
    return get_store().registry()


def users() -> Users:
    return Users(registry())


def official() -> User:
    """The logged-in official (:class:`stations.users.User`)."""
    return current_user.user


@login_manager.user_loader
def _load(user_id: str):
    uid, _, token = str(user_id).partition(":")
    try:
        user = users().get(int(uid))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or user.session_token != token:
        return None
    return Official(user)


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


@login_manager.unauthorized_handler
def _unauthorized():
    message = _("Please log in to the management area.")
    if wants_json():
        return jsonify({"error": {"parameter": None, "message": message}}), 401
    flash(message, "info")
    return redirect(url_for("manage.login", next=request.full_path if request.method == "GET" else None))


def _expired(message: str):
    logout_user()
    session.clear()
    if wants_json():
        return jsonify({"error": {"parameter": "session", "message": message}}), 401
    flash(message, "error")
    return redirect(url_for("manage.login", next=request.full_path if request.method == "GET" else None))


def guard():
    """Run before every request of the management blueprints (see the module docstring)."""
    now = time.time()
    if current_user.is_authenticated:
        login_at, seen = session.get("login_at", 0), session.get("seen", 0)
        if now - login_at > SESSION_MAX.total_seconds() or now - seen > SESSION_IDLE.total_seconds():
            return _expired(_("Your session has expired. Please log in again; nothing was changed."))
    if request.method in STATE_CHANGING:
        csrf.protect()  # raises CSRFError (400) when the token is missing, wrong or expired
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    session["seen"] = int(now)
    return None


def csrf_error(exc: CSRFError):
    """A missing or bad CSRF token: 400 with a message in the page's language, nothing changed."""
    message = _("This form has expired or lacks its security token. Reload the page and try again; nothing "
                "was changed.")
    if wants_json():
        return jsonify({"error": {"parameter": "csrf_token", "message": message}}), 400
    return render_template("manage/error.html", message=message, back=request.referrer), 400


def error_text(exc: InputError) -> str:
    """An error's message in the page's language."""
    return translated(exc)


def show_error(exc: InputError, template: str | None = None, **context):
    """``exc`` as JSON (for JSON requests) or the page ``template`` re-rendered with the message, with the
    error's status; the registry is unchanged (the domain raised before writing)."""
    if wants_json():
        from webmap.errors import error_response

        return error_response(exc)
    context.setdefault("error", error_text(exc))
    context.setdefault("error_param", exc.param)
    if template is None:
        return render_template("manage/error.html", message=context["error"], back=request.referrer), exc.status
    return render_template(template, **context), exc.status


def require_editor():
    """:class:`AccessError` unless the official may change stations."""
    if not official().can_edit:
        raise AccessError("your role (%(role)s) may not change stations", param="role", role=official().role)


def page_lang() -> str:
    return lang()
