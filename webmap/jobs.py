"""Heavy work in worker processes, apart from the threads that answer the finder (issue 14 §2).

The queue is `huey <https://huey.readthedocs.io>`_: its SQLite storage under ``var/`` (``var/jobs.sqlite``) by
default, or Redis when ``YIZHAN_QUEUE_URL`` is a ``redis://`` URL (several machines). ``yizhan worker`` runs the
consumer (``YIZHAN_WORKERS`` processes, at a lower CPU priority than the web processes); ``yizhan serve`` starts it
beside the web server.

What runs there (the app's ``JOBS`` mode, from ``YIZHAN_JOBS``: ``queue``, or ``inline`` to run it in the request
as before, for tests and embedding):

- the heavy endpoints marked :func:`offload`: printed sheets, recommendations (the exact solver too), their
  downloads and curves, what-if scenarios and the parsing of uploaded demand and candidate files. The web process
  sends the request itself (method, path, query, the language and cookie headers, small bodies; uploaded files and
  big bodies as paths under ``var/jobs/in/``) and the worker answers it with its own app over the same registry, so
  the answer is the one the endpoint always gave. The worker loads the registry itself and reloads it when the web
  process's data version (:attr:`webmap.Snapshot.version`) differs from its own. Big answers come back as files
  under ``var/jobs/out/``, never through the queue. The web thread waits for the answer (at most
  ``job_wait_seconds``); at most ``jobs_waiting_per_process`` requests of one web process wait at once, beyond
  that HTTP 503 with ``Retry-After``, so the finder's threads are never all taken.
- the atlas (:func:`submit_atlas`): a job with progress (pages done, stage) and cancel, its status in the queue's
  key-value store, so every web process sees the same job.

Cancel: :func:`cancel` revokes a job; a queued job never starts, a running one stops at its next
:func:`check_cancelled` (the atlas checks after every page).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
import threading
import time
import uuid
from pathlib import Path

from stations import config
from stations.limits import LIMITS

log = logging.getLogger(__name__)

#: answers larger than this come back as a file under var/jobs/out/, not through the queue
INLINE_BYTES = 256 * 1024
#: how often a consumer says it is alive (seconds); the web refuses at once when no consumer spoke for 4 times that
HEARTBEAT_S = 5.0
#: config keys of the web app a worker's app copies (plain values only: objects cannot cross processes)
SHARED_CONFIG = ("DATABASE_URL", "TILES", "TIANDITU_KEY", "RECOMMEND_MAX_SECONDS", "RECOMMEND_EXACT_SECONDS",
                 "PLANNER_DEMAND", "GZIP", "MAX_CONTENT_LENGTH")
#: request headers a worker sees (language, the session cookie, the client's address for the logs)
FORWARDED_HEADERS = ("Accept-Language", "Cookie", "User-Agent", "Content-Type")
_DROPPED_RESPONSE_HEADERS = {"content-length", "transfer-encoding", "connection"}


class JobCancelled(Exception):
    """Raised inside a job by :func:`check_cancelled` once the job was revoked."""


# ------------------------------------------------------------------------------------------------ the queue
_QUEUES: dict[str, object] = {}
_QUEUES_LOCK = threading.Lock()


def queue_url() -> str:
    """The queue's storage: ``YIZHAN_QUEUE_URL`` or ``sqlite:///`` + ``var/jobs.sqlite``."""
    url = config.settings().queue_url
    return url or f"sqlite:///{config.var_dir() / 'jobs.sqlite'}"


def jobs_dir() -> Path:
    """``var/jobs/`` (``in/`` for uploads and big bodies, ``out/`` for big answers)."""
    path = config.var_dir() / "jobs"
    for sub in ("in", "out"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def get_queue(url: str | None = None):
    """The huey instance for ``url`` (default :func:`queue_url`), with yizhan's tasks registered; one per URL."""
    url = url or queue_url()
    with _QUEUES_LOCK:
        q = _QUEUES.get(url)
        if q is None:
            q = _QUEUES[url] = _make_queue(url)
    return q


def _make_queue(url: str):
    from huey import RedisHuey, SqliteHuey

    if url.startswith(("redis://", "rediss://", "unix://")):
        q = RedisHuey("yizhan", url=url, utc=True)
    elif url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        q = SqliteHuey("yizhan", filename=str(path), utc=True, timeout=30)
    else:
        raise ValueError(f"YIZHAN_QUEUE_URL must be sqlite:///PATH or redis://HOST:PORT/DB, got {url!r}")
    q.yizhan_url = url
    q.yizhan_tasks = {
        "request": q.task(context=True, name="yizhan.request")(_run_request_task),
        "long": q.task(context=True, name="yizhan.long")(_long_task),
    }
    q.on_startup("yizhan.startup")(_on_startup)
    return q


# ------------------------------------------------------------------------------------------------ liveness
def _heartbeat(q) -> None:
    q.put("consumer-heartbeat", time.time())


def consumer_alive(q=None) -> bool:
    """Whether a consumer of the queue said it was alive within the last 4 heartbeats."""
    q = q or get_queue()
    try:
        beat = q.get("consumer-heartbeat", peek=True)
    except Exception:  # noqa: BLE001 - an unreadable store is a dead queue
        return False
    return beat is not None and time.time() - float(beat) < 4 * HEARTBEAT_S


# ------------------------------------------------------------------------------------------------ cancel
class _QueuedJob:
    """The job running in this worker: cancelled once revoked in the queue."""

    def __init__(self, q, task):
        self.q, self.task = q, task

    def cancelled(self) -> bool:
        return self.task is not None and bool(self.q.is_revoked(self.task, peek=True))


class _LocalJob:
    """A job running in a thread of this process (inline mode): cancelled by :func:`cancel_local`."""

    def __init__(self, name: str):
        self.name = name
        self.event = threading.Event()

    def cancelled(self) -> bool:
        return self.event.is_set()


_CURRENT: contextvars.ContextVar = contextvars.ContextVar("yizhan_job", default=None)
_LOCAL: dict[str, _LocalJob] = {}


def check_cancelled() -> None:
    """Inside a job: raise :class:`JobCancelled` when the job was cancelled (a no-op outside jobs)."""
    current = _CURRENT.get()
    if current is not None and current.cancelled():
        raise JobCancelled("the job was cancelled")


def cancel(task_id: str, q=None) -> None:
    """Revoke a queued job: it never starts if waiting; if running it stops at its next :func:`check_cancelled`."""
    (q or get_queue()).revoke_by_id(task_id)


@contextlib.contextmanager
def local_job(name: str):
    """Run the body as the local job ``name`` (inline mode), cancellable with :func:`cancel_local`."""
    job = _LOCAL[name] = _LocalJob(name)
    token = _CURRENT.set(job)
    try:
        yield job
    finally:
        _CURRENT.reset(token)
        if _LOCAL.get(name) is job:
            del _LOCAL[name]


def cancel_local(name: str) -> bool:
    """Cancel the local job ``name``; False when none runs."""
    job = _LOCAL.get(name)
    if job is None:
        return False
    job.event.set()
    return True


# ------------------------------------------------------------------------------------------------ worker side
_APPS: dict[tuple, object] = {}
_APPS_LOCK = threading.Lock()


def _worker_app(shared: dict):
    """The worker's own app over the web app's registry and settings (one per distinct configuration)."""
    key = tuple(sorted((k, repr(v)) for k, v in shared.items()))
    with _APPS_LOCK:
        app = _APPS.get(key)
        if app is None:
            from webmap import create_app

            app = _APPS[key] = create_app({**shared, "JOBS": "inline", "RATE_LIMITS": False, "JOBS_WORKER": True})
    return app


def _fresh(app, version: str | None):
    """The app's registry snapshot at the web's data ``version`` (reloaded when it differs)."""
    store = app.extensions["yizhan"]
    snap = store.snapshot()
    if version and snap.version != version:
        snap = store.reload()
        if snap.version != version:
            log.warning("registry changed since the web process loaded it: answering with data version %s, "
                        "not %s", snap.version, version)
    return snap


def _on_startup() -> None:
    """In each worker process: a lower CPU priority than the web processes, a heartbeat (so the web knows a
    consumer runs), and the default registry loaded before the first job (so a first job does not pay for it)."""
    try:
        os.nice(int(config.settings().worker_nice))
    except (OSError, AttributeError):
        pass
    q = get_queue()

    def beat():
        while True:
            try:
                _heartbeat(q)
            except Exception:  # noqa: BLE001 - a busy store: try again at the next beat
                log.debug("heartbeat failed", exc_info=True)
            time.sleep(HEARTBEAT_S)

    threading.Thread(target=beat, name="yizhan-heartbeat", daemon=True).start()
    try:
        app = _worker_app({"DATABASE_URL": config.settings().database_url})
        app.extensions["yizhan"].snapshot()
    except Exception:  # noqa: BLE001 - a registry problem is reported by the jobs that need it
        log.exception("worker start: could not load the registry")


def _run_request_task(spec: dict, task=None) -> dict:
    """Answer one offloaded request (see :func:`offload`) with the worker's app; returns the response as a dict."""
    t0 = time.perf_counter()
    app = _worker_app(spec["config"])
    _fresh(app, spec.get("version"))
    q = get_queue(spec["queue"])
    token = _CURRENT.set(_QueuedJob(q, task))
    files = []
    try:
        data = None
        if spec.get("files") is not None:
            data = dict(spec.get("form") or {})
            for field, (path, filename) in spec["files"].items():
                fh = open(path, "rb")  # noqa: SIM115 - closed below
                files.append(fh)
                data[field] = (fh, filename)
        elif spec.get("body_file"):
            data = Path(spec["body_file"]).read_bytes()
        elif spec.get("body") is not None:
            data = spec["body"]
        # use_cookies=False: the forwarded Cookie header (the session: owner of uploads and scenarios) reaches the
        # app; a cookie-jar client would replace it with its own, empty jar
        with app.test_client(use_cookies=False) as client:
            resp = client.open(spec["path"], method=spec["method"], query_string=spec["query"], data=data,
                               headers=spec["headers"], environ_base={"REMOTE_ADDR": spec.get("remote_addr") or ""})
            body = resp.get_data()
            headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in _DROPPED_RESPONSE_HEADERS]
            status = resp.status_code
    finally:
        _CURRENT.reset(token)
        for fh in files:
            fh.close()
    out = {"status": status, "headers": headers, "seconds": round(time.perf_counter() - t0, 3)}
    if len(body) > INLINE_BYTES:
        path = jobs_dir() / "out" / f"{task.id if task else uuid.uuid4().hex}.bin"
        path.write_bytes(body)
        out["file"] = str(path)
    else:
        out["body"] = body
    log.info("job %s %s: %d in %.2f s", spec["method"], spec["path"], status, out["seconds"])
    return out


def run_consumer(workers: int = 2, url: str | None = None) -> None:
    """Run the queue's consumer with ``workers`` worker processes until SIGINT/SIGTERM (``yizhan worker``)."""
    q = get_queue(url)
    _clean_stale_files()
    consumer = q.create_consumer(workers=workers, worker_type="process", initial_delay=0.05, backoff=1.2,
                                 max_delay=0.25, periodic=False, check_worker_health=True, health_check_interval=5)
    log.info("yizhan worker: %d processes on %s", workers, q.yizhan_url)
    consumer.run()


def _clean_stale_files(max_age_s: float = 3600.0) -> None:
    """Forget what dead requests left under var/jobs/ (answers nobody collected, uploads of killed requests)."""
    now = time.time()
    for sub in ("in", "out"):
        for path in (jobs_dir() / sub).glob("*"):
            try:
                if now - path.stat().st_mtime > max_age_s:
                    path.unlink()
            except OSError:
                continue


# ------------------------------------------------------------------------------------------------ web side
def _waiting_slots() -> threading.BoundedSemaphore:
    from flask import current_app

    n = int(current_app.config.get("JOBS_WAITING", LIMITS["jobs_waiting_per_process"].default))
    sem = current_app.extensions.get("yizhan_jobs_waiting")
    if sem is None:
        sem = current_app.extensions["yizhan_jobs_waiting"] = threading.BoundedSemaphore(n)
    return sem


def _busy(message: str, retry_after: int = 5):
    from flask import jsonify

    resp = jsonify({"error": {"parameter": None, "message": message}})
    resp.status_code = 503
    resp.headers["Retry-After"] = str(retry_after)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def busy_no_worker():
    """HTTP 503 when no consumer runs (the job would wait for ever)."""
    from webmap.i18n import lang

    log.error("no job worker is running for %s (start `yizhan worker`)", queue_url())
    return _busy("后台计算进程未运行，请稍后再试（管理员：启动 yizhan worker）" if lang() == "zh"
                 else "no worker process is running for heavy requests; try again later (operators: start "
                      "`yizhan worker`)", 30)


def shared_config(app) -> dict:
    """The plain-valued config a worker's app needs to answer like ``app``.

    Raises ValueError when ``app`` was given objects that cannot cross processes (a stations frame, a demand
    frame, a geography): such an app must run its jobs inline."""
    if app.config.get("STATIONS") is not None or app.config.get("PLANNER_GEOGRAPHY") is not None:
        raise ValueError("an app given STATIONS or PLANNER_GEOGRAPHY objects cannot send jobs to worker processes")
    demand = app.config.get("PLANNER_DEMAND")
    if demand is not None and not isinstance(demand, (str, Path)):
        raise ValueError("an app given a PLANNER_DEMAND frame cannot send jobs to worker processes")
    out = {k: app.config.get(k) for k in SHARED_CONFIG if app.config.get(k) is not None}
    if "PLANNER_DEMAND" in out:
        out["PLANNER_DEMAND"] = str(out["PLANNER_DEMAND"])
    return out


def uses_queue(app=None) -> bool:
    """Whether ``app`` (default: the current app) sends heavy work to worker processes."""
    from flask import current_app

    app = app or current_app
    return app.config.get("JOBS") == "queue" and not app.config.get("JOBS_WORKER")


def _request_spec(q) -> tuple[dict, list[Path]]:
    from flask import current_app, request

    from webmap import get_store

    spec = {
        "queue": q.yizhan_url,
        "config": shared_config(current_app),
        "version": get_store().snapshot().version,
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode("latin-1"),
        "headers": {h: request.headers[h] for h in FORWARDED_HEADERS if h in request.headers},
        "remote_addr": request.remote_addr,
    }
    temp: list[Path] = []
    if request.mimetype == "multipart/form-data":
        spec["headers"].pop("Content-Type", None)  # the worker's client writes its own multipart body
        spec["form"] = {k: v for k, v in request.form.items()}
        spec["files"] = {}
        for field, storage in request.files.items():
            path = jobs_dir() / "in" / f"{uuid.uuid4().hex}{Path(storage.filename or '').suffix[:16]}"
            storage.save(path)
            temp.append(path)
            spec["files"][field] = (str(path), storage.filename or "")
    elif request.method in ("POST", "PUT", "PATCH"):
        body = request.get_data(cache=True)
        if len(body) > INLINE_BYTES:
            path = jobs_dir() / "in" / f"{uuid.uuid4().hex}.body"
            path.write_bytes(body)
            temp.append(path)
            spec["body_file"] = str(path)
        else:
            spec["body"] = body
    return spec, temp


def _response(out: dict):
    from flask import current_app

    resp = current_app.response_class(status=out["status"])
    for k, v in out["headers"]:
        if k.lower() == "content-type":
            resp.headers["Content-Type"] = v
        else:
            resp.headers.add(k, v)
    if "file" in out:
        path = Path(out["file"])
        fh = open(path, "rb")  # noqa: SIM115 - closed by the response
        try:
            path.unlink()  # the open handle keeps the data until the response is sent
        except OSError:
            pass
        resp.response = _chunks(fh)
        resp.call_on_close(fh.close)
        resp.headers["Content-Length"] = str(os.fstat(fh.fileno()).st_size)
    else:
        resp.set_data(out["body"])
    return resp


def _chunks(fh, size: int = 256 * 1024):
    while True:
        block = fh.read(size)
        if not block:
            return
        yield block


def offload(view):
    """Mark a heavy view: in an app whose ``JOBS`` is ``queue`` the request is answered by a worker process
    (the web thread waits for it, within the per-process cap); otherwise the view runs here as before."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from flask import current_app

        if not uses_queue(current_app):
            return view(*args, **kwargs)
        return _dispatch(view.__name__)

    wrapper.offloaded = True
    return wrapper


def _dispatch(name: str):
    from flask import current_app, request

    from webmap.i18n import lang

    zh = lang() == "zh"
    q = get_queue(current_app.config.get("JOBS_QUEUE_URL"))
    if not consumer_alive(q):
        return busy_no_worker()
    slots = _waiting_slots()
    if not slots.acquire(blocking=False):
        log.warning("jobs: %s refused, this process already waits for %s heavy requests", request.path,
                    current_app.config.get("JOBS_WAITING", LIMITS["jobs_waiting_per_process"].default))
        return _busy("服务器正忙于其他计算，请稍后再试" if zh else "the server is busy with other computations; try again shortly")
    temp: list[Path] = []
    try:
        spec, temp = _request_spec(q)
        result = q.yizhan_tasks["request"](spec)
        timeout = float(current_app.config.get("JOB_WAIT_SECONDS", LIMITS["job_wait_seconds"].default))
        try:
            out = result.get(blocking=True, timeout=timeout, backoff=1.3, max_delay=0.1)
        except Exception as exc:  # noqa: BLE001 - huey's ResultTimeout and TaskException
            return _job_failed(q, result, exc, timeout, zh)
        return _response(out)
    finally:
        slots.release()
        for path in temp:
            try:
                path.unlink()
            except OSError:
                pass


def _job_failed(q, result, exc, timeout: float, zh: bool):
    from huey.exceptions import ResultTimeout, TaskException

    if isinstance(exc, ResultTimeout):
        cancel(result.id, q)
        log.error("job %s: no answer within %g s; revoked", result.id, timeout)
        return _busy(f"计算超过 {timeout:g} 秒仍未完成，已取消；请缩小范围后重试" if zh
                     else f"the computation did not finish within {timeout:g} s and was cancelled; ask for less", 30)
    if isinstance(exc, TaskException):
        log.error("job %s failed: %s", result.id, exc.metadata.get("error") if hasattr(exc, "metadata") else exc)
    raise exc


# ------------------------------------------------------------------------------------------------ job status
def get_status(name: str, q=None) -> dict | None:
    """The status record ``name`` (a dict) in the queue's key-value store, shared by every process."""
    return (q or get_queue()).get(f"status:{name}", peek=True)


def put_status(name: str, record: dict, q=None) -> None:
    (q or get_queue()).put(f"status:{name}", record)


def update_status(name: str, q=None, **changes) -> dict:
    """Merge ``changes`` into the status record ``name`` (its one writer is the job, once it runs)."""
    q = q or get_queue()
    record = dict(get_status(name, q) or {})
    record.update(changes)
    put_status(name, record, q)
    return record


def claim(name: str, token: str, q=None) -> bool:
    """Take the lock ``name`` for ``token`` unless another holds it (atomic in the store); see :func:`release`."""
    return bool((q or get_queue()).put_if_empty(f"lock:{name}", token))


def holder(name: str, q=None) -> str | None:
    return (q or get_queue()).get(f"lock:{name}", peek=True)


def release(name: str, q=None) -> None:
    (q or get_queue()).delete(f"lock:{name}")


#: the long jobs a worker runs besides requests: kind -> "module:function(app, spec, queue)" (looked up by name,
#: as create_app finds its blueprints, so the modules that submit them may import this one)
LONG_JOBS: dict[str, str] = {
    "atlas": "webmap.print_views:run_atlas_job",
}


def submit(kind: str, spec: dict, q=None):
    """Queue a long job of ``kind`` (a key of :data:`LONG_JOBS`) with ``spec`` (small plain values, including the
    web app's ``config`` and data ``version``); returns huey's result handle (``.id`` for :func:`cancel`)."""
    if kind not in LONG_JOBS:
        raise ValueError(f"unknown job kind {kind!r}")
    q = q or get_queue()
    return q.yizhan_tasks["long"]({**spec, "kind": kind, "queue": q.yizhan_url})


def _long_task(spec: dict, task=None):
    """Run a long job in the worker with its cancel check in place."""
    import importlib

    module, _, name = LONG_JOBS[spec["kind"]].partition(":")
    run = getattr(importlib.import_module(module), name)
    q = get_queue(spec["queue"])
    app = _worker_app(spec["config"])
    token = _CURRENT.set(_QueuedJob(q, task))
    try:
        _fresh(app, spec.get("version"))
        return run(app, spec, q)
    finally:
        _CURRENT.reset(token)
