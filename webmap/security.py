"""The web app's security, in one module: the secret key, session cookies, CSRF and logins (issue 10), the ONE
rate limiter, and the response headers (issue 14).

- **Secret key**: ``SECRET_KEY`` in the app's config, else ``YIZHAN_SECRET_KEY`` (:mod:`stations.config`), else
  a random key generated once into ``YIZHAN_VAR_DIR/secret_key`` (mode 600), so sessions survive restarts and
  nothing secret is in the repository. Several server processes serving one site must share it.
- **Sessions**: Flask's signed cookie, ``HttpOnly``, ``SameSite=Lax``, ``Secure`` whenever the request came
  over HTTPS (:class:`SessionInterface`; behind a TLS proxy, the proxy must say so with ``X-Forwarded-Proto``
  and the app be wrapped in werkzeug's ``ProxyFix``). Logged-in sessions expire after
  :data:`SESSION_IDLE` without a request and :data:`SESSION_MAX` after login, checked on the server
  (:mod:`webmap.manage`), so a copied cookie does not live for ever.
- **Rate limits**: :data:`limiter` (Flask-Limiter), keyed by the client address (:func:`client_address`),
  counted in ``YIZHAN_RATE_LIMIT_STORAGE`` (``memory://`` per process by default; a shared store such as Redis
  when several processes serve one site). No default limits: each endpoint that needs one says so.
- **CSRF**: :data:`csrf` (Flask-WTF's ``CSRFProtect``) with the check off by default, because the public JSON
  API (what-if, demand uploads, workers' reports) has no session to ride on; the management blueprint calls
  ``csrf.protect()`` before every state-changing request, forms and JSON alike (token in the form field
  ``csrf_token`` or the ``X-CSRFToken`` header).
- **Logins**: :data:`login_manager` (Flask-Login); :mod:`webmap.manage` registers the user loader.

Two separate parts, each with its own functions:

**Rate limits** (:data:`limiter`, :func:`init_limits`). One Flask-Limiter instance for the whole app, keyed on the
client's address (``get_remote_address``; behind a reverse proxy, deploy Werkzeug's ``ProxyFix`` so that is the
client and not the proxy). Its storage is the ``YIZHAN_RATE_LIMIT_STORAGE`` setting: ``memory://`` (default: each
web process counts on its own, so with N processes a client gets up to N times the limit) or a shared store such as
``redis://host:6379/1`` for several processes or machines. The heavy endpoints (:data:`HEAVY_ENDPOINTS`) get the
per-client limits of :mod:`stations.limits` (``rate_*``); past one the answer is HTTP 429 with ``Retry-After`` in
the app's JSON error shape. An app with ``RATE_LIMITS=False`` in its config (tests that need many calls) is exempt.

**Headers** (:func:`init_headers`). Every response gets ``X-Content-Type-Options: nosniff``,
``X-Frame-Options: DENY``, ``Referrer-Policy`` and ``Permissions-Policy`` (geolocation for the page's own origin
only, camera, microphone, payment and the like for nobody). HTML pages also get a Content-Security-Policy without
``'unsafe-inline'`` for scripts: every inline ``<script>`` carries the request's nonce (``g.csp_nonce``, in
templates ``csp_nonce()``; the cached Folium parts get it through the ``nonced`` filter). Images may come from the
tile hosts of the app's ``TILES``; everything else only from the app itself.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta

from flask import Flask, current_app, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup

from stations import config
from stations import config as stations_config
from stations.limits import LIMITS

log = logging.getLogger(__name__)

SESSION_IDLE = timedelta(hours=2)
SESSION_MAX = timedelta(hours=12)


def client_address() -> str:
    """The client's address as the WSGI server saw it (behind a proxy: after ``ProxyFix``)."""
    return request.remote_addr or "unknown"


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


def secret_key() -> str:
    """``YIZHAN_SECRET_KEY``, or the key generated once into ``var/secret_key`` (:func:`stations.config.secret_key`)."""
    return stations_config.secret_key()



# ------------------------------------------------------------------------------------------------ rate limits

#: The one limiter of the app (Flask-Limiter; storage from the ``YIZHAN_RATE_LIMIT_STORAGE`` setting).
limiter = Limiter(
    key_func=client_address,
    storage_uri=None,  # set per app in init_limits() from the settings (memory:// by default)
    headers_enabled=False,  # its Retry-After would replace the atlas's own on 202s: the 429 handler sets one
    strategy="moving-window",
)

#: endpoint -> the :data:`stations.limits.LIMITS` entry of its per-client limit (requests per minute)
HEAVY_ENDPOINTS: dict[str, str] = {
    "recommend.api_recommend": "rate_recommend_per_min",
    "recommend.download": "rate_recommend_per_min",
    "recommend.curve": "rate_recommend_per_min",
    "recommend.api_whatif": "rate_whatif_per_min",
    "recommend.api_scenario": "rate_whatif_per_min",  # accepting a scenario stores it (per session, bounded)
    "recommend.api_candidates": "rate_upload_per_min",
    "planner.upload_demand": "rate_upload_per_min",
    "print_views.sheet": "rate_print_per_min",
    "print_views.atlas": "rate_atlas_per_min",
    "planner.api_layer": "rate_analysis_per_min",
    "planner.api_coverage": "rate_analysis_per_min",
    "planner.api_gaps": "rate_analysis_per_min",
    "planner.download": "rate_analysis_per_min",
    "network.api_isochrones": "rate_analysis_per_min",  # issue 13: walking areas
    "network.download_isochrones": "rate_analysis_per_min",
}


def rate(name: str) -> str:
    """The Flask-Limiter limit string of the :data:`LIMITS` entry ``name`` (``"20 per minute"``)."""
    return f"{int(LIMITS[name].default)} per minute"


#: original view function -> its rate-limited wrapper (every app of the process shares them)
_LIMITED: dict = {}


def _exempt() -> bool:
    return not current_app.config.get("RATE_LIMITS", True)


def init_limits(app: Flask) -> None:
    """Attach the app to :data:`limiter` and put the per-client limits on :data:`HEAVY_ENDPOINTS`.

    Called by ``create_app`` after the blueprints are registered (the limits wrap their view functions)."""
    app.config.setdefault("RATE_LIMITS", config.settings().rate_limits)
    app.config["RATELIMIT_ENABLED"] = True  # Flask-Limiter's switch is global to the instance: exempt per app instead
    # Only the heavy endpoints have limits, and their wrappers check them; Flask-Limiter's hook before every request
    # (for default and application-wide limits, which yizhan has none of) would cost each finder request its
    # look-ups for nothing (measured: a tenth of /api/health's time).
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:  # noqa: SLF001
        hooks.remove(limiter._check_request_limit)  # noqa: SLF001
    # nor its X-RateLimit-* headers (off) after every request
    after = app.after_request_funcs.get(None, [])
    after[:] = [f for f in after if getattr(getattr(f, "func", None), "__name__", "") != "__inject_headers"]
    for endpoint, name in HEAVY_ENDPOINTS.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        limited = _LIMITED.get(view)
        if limited is None:  # once per view function: the limiter registers each decorated limit for good
            limited = _LIMITED[view] = limiter.limit(rate(name), exempt_when=_exempt, scope=name)(view)
        app.view_functions[endpoint] = limited

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded):
        from webmap.i18n import lang

        if request.path.startswith("/manage"):  # the login form: Flask's own 429 page with the limit's message
            return exc
        own = getattr(exc.limit, "error_message", None) if exc.limit is not None else None

        limit = exc.limit.limit if exc.limit is not None else None
        amount, unit = (limit.amount, limit.GRANULARITY.name) if limit is not None else (None, "minute")
        if lang() == "zh":
            per = f"每{_ZH_UNITS.get(unit, unit)} {amount} 次" if amount else str(exc.description)
            message = f"请求过于频繁：本操作每个客户端限{per}，请稍后再试"
        else:
            per = f"{amount} per {unit}" if amount else str(exc.description)
            message = f"too many requests: this endpoint allows {per} per client; try again later"
        if own:  # an endpoint's own wording (workers' reports): already in the request's language
            message = str(exc.description)
        resp = jsonify({"error": {"parameter": None, "message": message}})
        resp.status_code = 429
        resp.headers["Retry-After"] = str(_retry_after(exc))
        log.info("rate limit: %s %s from %s (%s)", request.method, request.path, client_address(), per)
        return resp


_ZH_UNITS = {"second": "秒", "minute": "分钟", "hour": "小时", "day": "天"}


def _retry_after(exc: RateLimitExceeded) -> int:
    try:
        reset = limiter.current_limit.reset_at if limiter.current_limit else None
    except Exception:  # noqa: BLE001 - the header is advice; a minute is always right for per-minute limits
        reset = None
    if reset:
        import time

        return max(1, int(reset - time.time()) + 1)
    return 60


# ------------------------------------------------------------------------------------------------ headers

PERMISSIONS_POLICY = ", ".join([
    "geolocation=(self)", "camera=()", "microphone=()", "payment=()", "usb=()", "serial=()", "bluetooth=()",
    "hid=()", "midi=()", "magnetometer=()", "gyroscope=()", "accelerometer=()", "display-capture=()",
])
REFERRER_POLICY = "strict-origin-when-cross-origin"
_FIXED_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", REFERRER_POLICY),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def csp_nonce() -> str:
    """The request's CSP nonce (made on first use; 128 random bits, URL-safe base64)."""
    nonce = getattr(g, "csp_nonce", None)
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


_SCRIPT_TAG = re.compile(r"<script(?![^>]*\snonce=)(?=[\s>])", re.IGNORECASE)


def nonced(html: str) -> Markup:
    """``html`` (trusted markup such as Folium's rendered parts) with the request's nonce on every ``<script>`` tag
    that has none."""
    nonce = csp_nonce()
    return Markup(_SCRIPT_TAG.sub(f'<script nonce="{nonce}"', str(html)))


def content_security_policy(nonce: str, tile_hosts=()) -> str:
    """The CSP of an HTML page: scripts from the app or carrying ``nonce``; images from the app, ``data:`` and the
    tile hosts; styles from the app and inline (Leaflet positions its panes and markers with style attributes)."""
    img = " ".join(["'self'", "data:", "blob:", *tile_hosts])  # blob: the print page previews a drawn sheet; bare hosts: the page scheme
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {img}",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "frame-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ])


def _tile_hosts(app: Flask) -> tuple[str, ...]:
    cached = app.extensions.get("yizhan_tile_hosts")
    if cached is None:
        from webmap.maps import tile_config

        cached = tile_config(app.config.get("TILES"), app.config.get("TIANDITU_KEY", "")).hosts
        app.extensions["yizhan_tile_hosts"] = cached
    return cached


def init_headers(app: Flask) -> None:
    """The security headers on every response and the CSP with a per-request nonce on HTML pages."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonced"] = nonced

    @app.after_request
    def _headers(response):
        h = response.headers
        if "X-Frame-Options" not in h:  # no view sets these: one look-up, then five appends (the finder's hot path)
            h.extend(_FIXED_HEADERS)
        if response.mimetype == "text/html":
            h["Content-Security-Policy"] = content_security_policy(csp_nonce(), _tile_hosts(app))
        return response


def init_app(app: Flask) -> None:
    """Configure the secret key, session cookies, the limiter, CSRF and the login manager on ``app`` (before its
    blueprints are registered; :func:`init_after_blueprints` adds the headers and the heavy endpoints' limits)."""
    env = stations_config.settings()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key()
    # Flask has defaults for these (no SameSite, 31 days): ours replace them
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="yizhan_session",
                      PERMANENT_SESSION_LIFETIME=SESSION_MAX, REMEMBER_COOKIE_HTTPONLY=True,
                      REMEMBER_COOKIE_SAMESITE="Lax")
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", int(SESSION_MAX.total_seconds()))
    app.config.setdefault("RATELIMIT_STORAGE_URI", env.rate_limit_storage)
    app.session_interface = SessionInterface()
    limiter._storage_uri = None  # noqa: SLF001 - each app's own storage (Flask-Limiter keeps the first otherwise)
    limiter.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"


def init_after_blueprints(app: Flask) -> None:
    """Rate limits on the heavy endpoints and the headers (called by ``create_app`` once its blueprints are registered)."""
    init_headers(app)
    init_limits(app)
