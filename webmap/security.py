"""The app's security plumbing, in one module: the secret key, session cookies, the one rate limiter, CSRF
protection and the login manager. Blueprints import :data:`limiter` and :data:`csrf` from here.

- **Secret key**: ``SECRET_KEY`` in the app's config, else ``YIZHAN_SECRET_KEY`` (:mod:`stations.config`), else
  a random key generated once into ``YIZHAN_VAR_DIR/secret_key`` (mode 600), so sessions survive restarts and
  nothing secret is in the repository. Several server processes serving one site must share it.
- **Sessions**: Flask's signed cookie, ``HttpOnly``, ``SameSite=Lax``, ``Secure`` whenever the request came
  over HTTPS (:class:`SessionInterface`; behind a TLS proxy, the proxy must say so with ``X-Forwarded-Proto``
  and the app be wrapped in werkzeug's ``ProxyFix``). Logged-in sessions expire after
  :data:`SESSION_IDLE` without a request and :data:`SESSION_MAX` after login, checked on the server
  (:mod:`webmap.manage`), so a copied cookie does not live for ever.
- **Rate limits**: :data:`limiter` (Flask-Limiter), keyed by the client address (:func:`client_address`),
  counted in ``YIZHAN_RATELIMIT_STORAGE`` (``memory://`` per process by default; a shared store such as Redis
  when several processes serve one site). No default limits: each endpoint that needs one says so.
- **CSRF**: :data:`csrf` (Flask-WTF's ``CSRFProtect``) with the check off by default, because the public JSON
  API (what-if, demand uploads, workers' reports) has no session to ride on; the management blueprint calls
  ``csrf.protect()`` before every state-changing request, forms and JSON alike (token in the form field
  ``csrf_token`` or the ``X-CSRFToken`` header).
- **Logins**: :data:`login_manager` (Flask-Login); :mod:`webmap.manage` registers the user loader.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from stations import config as stations_config

log = logging.getLogger(__name__)

SESSION_IDLE = timedelta(hours=2)
SESSION_MAX = timedelta(hours=12)


def client_address() -> str:
    """The client's address as the WSGI server saw it (behind a proxy: after ``ProxyFix``)."""
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address, default_limits=[], storage_uri=None)
csrf = CSRFProtect()
login_manager = LoginManager()


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, marked ``Secure`` when the request came over HTTPS (or when
    ``SESSION_COOKIE_SECURE`` says always)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        try:
            return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure
        except RuntimeError:  # outside a request
            return bool(app.config.get("SESSION_COOKIE_SECURE"))


def secret_key(var_dir: Path | None = None) -> str:
    """``YIZHAN_SECRET_KEY``, or the key kept in ``var_dir/secret_key`` (made on first use, mode 600)."""
    env = stations_config.settings()
    if env.secret_key:
        return env.secret_key
    path = Path(var_dir or env.var_dir) / "secret_key"
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    os.chmod(path, 0o600)
    log.info("generated a new secret key in %s", path)
    return key


def init_app(app: Flask) -> None:
    """Configure the secret key, session cookies, the limiter, CSRF and the login manager on ``app``."""
    env = stations_config.settings()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(app.config.get("VAR_DIR"))
    # Flask has defaults for these (no SameSite, 31 days): ours replace them
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="yizhan_session",
                      PERMANENT_SESSION_LIFETIME=SESSION_MAX, REMEMBER_COOKIE_HTTPONLY=True,
                      REMEMBER_COOKIE_SAMESITE="Lax")
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", int(SESSION_MAX.total_seconds()))
    app.config.setdefault("RATELIMIT_STORAGE_URI", env.ratelimit_storage)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.session_interface = SessionInterface()
    limiter.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
