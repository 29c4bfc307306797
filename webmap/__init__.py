"""The yizhan web app: ``create_app(config=None)`` builds a Flask application.

Blueprints are registered from :data:`BLUEPRINTS` ("module:attribute" strings): to add a page or an API,
add one line there. The station registry is loaded once per app, on first use, into
``app.extensions["yizhan"]`` (a :class:`StationStore` holding the GeoDataFrame and the nearest-station
index); ``store.reload()`` re-reads the registry and rebuilds the indexes (after an import, for example).

Configuration keys (``config`` argument, defaults from the environment):

``DATABASE_URL``  SQLAlchemy URL of the registry (default from :func:`stations.config.settings`)
``TILES``         tile provider: ``auto`` (default), ``osm``, ``amap`` (GCJ-02), ``tianditu``, ``none``, or an
                  ``http(s)://.../{z}/{x}/{y}...`` URL template (default from the settings: ``YIZHAN_TILES``)
``TIANDITU_KEY``  the Tianditu key (default from the settings; never stored in the repository)
``STATIONS``      optional GeoDataFrame used instead of the registry (tests, benchmarks)
``GZIP``          compress text responses for clients that accept gzip (default True)
``RECOMMEND_MAX_SECONDS``, ``RECOMMEND_EXACT_SECONDS``  run-time limits of one recommendation (greedy; exact
                  solver), defaults from :data:`stations.limits.LIMITS`
``PLANNER_DEMAND``, ``PLANNER_GEOGRAPHY``  the planner's demand and geography (:mod:`webmap.state`)
``REGISTRY_CHECK_SECONDS``  how often a process checks the registry's data version for changes (default 1)
``SECRET_KEY``    signs sessions (default: ``YIZHAN_SECRET_KEY`` or ``var/secret_key``, :mod:`webmap.security`)
``JOBS``          ``queue`` (heavy requests answered by worker processes, :mod:`webmap.jobs`) or ``inline``;
                  default from the settings (``YIZHAN_JOBS``); an app given objects (``STATIONS``, a demand frame,
                  a geography) runs inline, since objects cannot reach another process
``FINDER_FRAGMENTS``  write ``/api/nearest`` from per-station JSON fragments (:mod:`webmap.finder_json`, default
                  True); False builds it as dicts as before (the benchmark's "before", the tests' reference)
``RATE_LIMITS``   per-client limits on the heavy endpoints (:mod:`webmap.security`), default True
``ANALYSIS_SECONDS``  wall-clock limit of one analysis, upload reading or print layer set in a request (default
                  ``analysis_seconds`` of :data:`stations.limits.LIMITS`)
"""

from __future__ import annotations

import gzip
import importlib
import logging
import threading
import time

import numpy as np
from flask import Flask, request

from stations import config as stations_config
from stations.limits import LIMITS
from webmap.caches import ANONYMOUS, OwnedCache

_MISSING = object()

log = logging.getLogger(__name__)

#: Blueprints registered by :func:`create_app`, as "module:attribute". One line per blueprint.
BLUEPRINTS: list[str] = [
    "webmap.views:bp",
    "webmap.api:bp",
    "webmap.planner:bp",
    "webmap.print_views:bp",
    "webmap.recommend:bp",  # issue 5: recommendations and what-if
    "webmap.reports:bp",  # issue 10: workers' reports
    "webmap.manage:bp",  # issue 10: the management area (login, report queue, audit log)
    "webmap.manage_stations:bp",  # issue 10: the management area (stations, uploads)
    "webmap.network_views:bp",  # issue 13: the street network (status, isochrones, routes)
    "webmap.offline:bp",  # issue 11: service worker, manifest, offline data, drawn base map
]

_COMPRESSIBLE = {
    "text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
    "application/json", "application/geo+json", "image/svg+xml",
}


def _safe(url):
    from stations.registry import safe_url

    return safe_url(url) if url else url


class StationStore:
    """The registry loaded in memory for one app, with its indexes.

    Attributes are swapped atomically by :meth:`reload`, so a request always sees one consistent snapshot
    (``snap = store.snapshot()``).

    A change to the registry, by this process or any other serving the same database, is seen without a
    restart: at most every :attr:`check_seconds` (``REGISTRY_CHECK_SECONDS``, default 1 s) :meth:`snapshot` reads
    the data versions (:meth:`stations.registry.Registry.data_version`, one small query) and, when the
    ``stations`` version moved, rebuilds the snapshot; when only the ``reports`` version moved, it refreshes the
    report badges of the current one. One thread checks and rebuilds; the others keep answering from the
    snapshot they have meanwhile. :meth:`invalidate` makes the next call check at once (after a write here).
    """

    def __init__(self, url: str | None = None, frame=None, check_seconds: float = 1.0):
        self.url = url
        self._given = frame
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._registry = None
        self.check_seconds = float(check_seconds)
        self._checked = 0.0

    def registry(self):
        """The :class:`stations.registry.Registry` of this store (one engine for the app's lifetime)."""
        if self._registry is None:
            from stations.registry import Registry

            self._registry = Registry(self.url)
        return self._registry

    def snapshot(self) -> "Snapshot":
        snap = self._snap
        if snap is None:
            with self._lock:
                if self._snap is None:
                    self._snap = self._build()
                    self._checked = time.monotonic()
                snap = self._snap
        elif self._given is None and time.monotonic() - self._checked >= self.check_seconds:
            self._check(snap)
            snap = self._snap
        return snap

    def invalidate(self) -> None:
        """Check the data versions at the next :meth:`snapshot` (this process has just written)."""
        self._checked = 0.0

    def _check(self, snap: "Snapshot") -> None:
        if not self._check_lock.acquire(blocking=False):
            return  # another thread is checking (or rebuilding): serve the current snapshot meanwhile
        try:
            self._checked = time.monotonic()
            versions = self.registry().data_version()
            if versions.get("stations") != snap.versions.get("stations"):
                new = self._build()
                with self._lock:
                    self._snap = new
            elif versions.get("reports") != snap.versions.get("reports"):
                from stations.reports import badges

                snap.set_reports(badges(self.registry().engine), versions)
        except Exception:  # noqa: BLE001 - the database is away for a moment: keep serving what we have
            log.warning("registry change check failed; serving the snapshot loaded at %s", snap.loaded_at,
                        exc_info=True)
        finally:
            self._check_lock.release()

    def reload(self) -> "Snapshot":
        """Re-read the registry and rebuild the indexes; returns the new snapshot."""
        with self._lock:
            self._snap = self._build()
        return self._snap

    @property
    def gdf(self):
        return self.snapshot().gdf

    @property
    def index(self):
        return self.snapshot().index

    def _build(self) -> "Snapshot":
        t0 = time.perf_counter()
        versions, reports = {}, {}
        if self._given is not None:
            gdf = self._given
        else:
            from stations.reports import badges

            reg = self.registry()
            versions = reg.data_version()  # first: a write after this read makes the next check reload again
            gdf = reg.load()
            reports = badges(reg.engine)
        snap = Snapshot(gdf)
        snap.set_reports(reports, versions)
        log.info("loaded %d stations in %.2f s from %s", len(gdf), time.perf_counter() - t0,
                 "the given frame" if self._given is not None else _safe(self.url))
        if len(gdf) == 0:
            log.warning("the station registry at %s is empty", _safe(self.url))
        return snap


class Snapshot:
    """One load of the registry: the stations (``gdf``), the nearest-station index, per-row values the API reads,
    and a per-snapshot memo (:meth:`cached`) for what is derived from these stations."""

    #: entries one owner (a session, or all requests without one) keeps in the memo, besides its byte budget
    CACHE_SIZE = 128

    def __init__(self, gdf):
        from stations.nearest import NearestIndex
        from stations.schema import SERVICE_KEYS

        self.index = NearestIndex(gdf)
        self.gdf = self.index.frame  # positions in the index == row positions here
        self.loaded_at = time.time()
        self.position = {sid: i for i, sid in enumerate(self.gdf["id"].astype(str))} if len(self.gdf) else {}
        present = [k for k in SERVICE_KEYS if k in self.gdf]
        # per station: its service keys, and a bitmask (bit j = SERVICE_KEYS[j]) for the map's filters
        self.service_bits = np.zeros(len(self.gdf), dtype=np.int64)
        if len(self.gdf) and present:
            flags = self.gdf[present].fillna(False).to_numpy(dtype=bool)
            self.services = [[present[j] for j in np.flatnonzero(row)] for row in flags]
            for j, key in enumerate(SERVICE_KEYS):
                if key in present:
                    self.service_bits |= flags[:, present.index(key)].astype(np.int64) << j
        else:
            self.services = [[] for _ in range(len(self.gdf))]
        # plain-Python rows and the display datums, computed once per load (the API reads these per row)
        plain = [c for c in self.gdf.columns if c != "geometry"]
        self.records = self.gdf[plain].to_dict("records") if len(self.gdf) else []
        if len(self.gdf):
            from stations.coords import wgs84_to_bd09, wgs84_to_gcj02

            lon = self.gdf["lon"].to_numpy(dtype=float)
            lat = self.gdf["lat"].to_numpy(dtype=float)
            self.gcj02 = np.column_stack(wgs84_to_gcj02(lon, lat))
            self.bd09 = np.column_stack(wgs84_to_bd09(lon, lat))
        else:
            self.gcj02 = self.bd09 = np.zeros((0, 2))
        #: objects the memo's values refer to without owning them (not counted in their sizes); the planner
        #: state adds its demand sets (:func:`webmap.state.shared_objects`)
        self.shared_provider = None
        self._cache = OwnedCache(
            LIMITS["memo_bytes"].hi, LIMITS["memo_owner_bytes"].hi, LIMITS["idle_seconds"].default,
            owner_entries=self.CACHE_SIZE, shared=self._shared, name="analysis memo")
        self.reports: dict[str, dict] = {}
        self.versions: dict[str, int] = {}
        self._version: str | None = None

    def set_reports(self, reports: dict[str, dict], versions: dict[str, int]) -> None:
        """Replace the report badges (station id -> :func:`stations.reports.badges` entry) and the data versions
        this snapshot answers for (each attribute swapped whole)."""
        self.reports = reports
        self.versions = versions

    @property
    def version(self) -> str:
        """The data version: a hash of every station's values (not of when they were loaded), so every process
        that loaded the same registry contents agrees on it (the job workers compare it with the web's)."""
        if self._version is None:
            import hashlib

            import pandas as pd

            plain = [c for c in self.gdf.columns if c != "geometry"]
            h = hashlib.sha1(",".join(plain).encode())
            if len(self.gdf):
                h.update(pd.util.hash_pandas_object(self.gdf[plain].astype(str), index=False).to_numpy().tobytes())
            self._version = h.hexdigest()[:16]
        return self._version

    def _shared(self) -> list:
        out = [self.gdf, self.index, self.records]
        if self.shared_provider is not None:
            out.extend(self.shared_provider())
        return out

    def cached(self, key: tuple, build, owner: str = ANONYMOUS, local: dict | None = None):
        """``build()`` memoised under ``key`` for this snapshot (dropped on reload); safe under the server's threads.

        ``key`` is a tuple of plain values naming what was asked (``("planner", radius, ...)``), never an
        object's ``id()``, which Python reuses once the object is gone. The memo is an
        :class:`webmap.caches.OwnedCache`: bounded by bytes in all (``memo_bytes``) and per ``owner``
        (``memo_owner_bytes``, :attr:`CACHE_SIZE` entries), an owner's new entries pushing out only its own old
        ones or idle ones; a value that does not fit is not kept. ``local`` (a dict living as long as the
        request) keeps such values for the rest of the request, so they are computed once per request.
        """
        hit = self._cache.get(key, _MISSING, owner)
        if hit is not _MISSING:
            return hit
        if local is not None and key in local:
            return local[key]
        value = build()  # outside any lock: two threads may build the same value once, harmlessly
        if not self._cache.put(key, value, owner) and local is not None:
            local[key] = value
        return value


def _load_blueprint(spec: str):
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr or "bp")


def _install_gzip(app: Flask) -> None:
    static_cache: dict = {}

    @app.after_request
    def _gzip(response):
        if not app.config.get("GZIP", True):
            return response
        if (
            response.status_code != 200
            or "gzip" not in request.headers.get("Accept-Encoding", "").lower()
            or "Content-Encoding" in response.headers
            or response.mimetype not in _COMPRESSIBLE
            or request.method != "GET"
        ):
            return response
        response.vary.add("Accept-Encoding")
        etag, _ = response.get_etag()
        key = (request.path, etag) if etag and response.direct_passthrough else None
        if key is not None and key in static_cache:
            body = static_cache[key]
            response.direct_passthrough = False
            if hasattr(response.response, "close"):
                response.response.close()  # the file we do not read
        else:
            response.direct_passthrough = False
            data = response.get_data()
            if len(data) < 1024:
                return response
            body = gzip.compress(data, compresslevel=6)
            if key is not None:
                static_cache[key] = body
        response.set_data(body)
        response.headers["Content-Encoding"] = "gzip"
        if etag:
            response.set_etag(etag, weak=True)
        return response


def create_app(config: dict | None = None) -> Flask:
    """The application factory."""
    app = Flask(__name__)
    env = stations_config.settings()
    app.config.from_mapping(
        DATABASE_URL=env.database_url,
        TILES=env.tiles,
        TIANDITU_KEY=env.tianditu_key,
        STATIONS=None,
        GZIP=True,
        RECOMMEND_MAX_SECONDS=float(LIMITS["recommend_seconds"].default),
        RECOMMEND_EXACT_SECONDS=float(LIMITS["exact_seconds"].default),
        SEND_FILE_MAX_AGE_DEFAULT=7 * 86400,  # static files; own css/js are cache-busted with ?v=
        JSON_SORT_KEYS=False,
        # request bodies: the largest upload (a 64 MB demand file) plus form overhead; beyond it HTTP 413
        # before anything is read, also for chunked uploads that carry no Content-Length
        MAX_CONTENT_LENGTH=65 * 1024 * 1024,
        JOBS=env.jobs,  # "queue": heavy requests answered by worker processes (webmap.jobs); "inline": here
    )
    if config:
        app.config.update(config)
    if app.config["JOBS"] == "queue" and not app.config.get("JOBS_WORKER"):
        from webmap.jobs import shared_config

        try:
            shared_config(app)
        except ValueError as exc:  # objects given in the config cannot reach a worker process
            log.info("jobs run inline: %s", exc)
            app.config["JOBS"] = "inline"
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.json.compact = True

    from webmap import errors, i18n

    i18n.init_app(app)
    errors.init_app(app)
    from webmap import security

    security.init_app(app)  # secret key, session cookies, rate limiter, CSRF, logins (issue 10)
    app.extensions["yizhan"] = StationStore(app.config["DATABASE_URL"], app.config.get("STATIONS"),
                                            app.config.get("REGISTRY_CHECK_SECONDS", 1.0))
    for spec in BLUEPRINTS:
        app.register_blueprint(_load_blueprint(spec))
    security.init_after_blueprints(app)  # headers (CSP with nonces) and the per-client limits of the heavy endpoints
    _install_gzip(app)
    log.debug("app created with blueprints %s", ", ".join(BLUEPRINTS))
    return app


def get_store(app: Flask | None = None) -> StationStore:
    """The :class:`StationStore` of ``app`` (default: the current app)."""
    from flask import current_app

    return (app or current_app).extensions["yizhan"]
