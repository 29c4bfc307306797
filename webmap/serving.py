"""Running yizhan as a service: the web processes, the job workers beside them, and quieter server logs.

``yizhan serve`` (and ``make run``) calls :func:`serve`: it starts the job consumer (``yizhan worker``, see
:mod:`webmap.jobs`) as a child process unless told not to, then serves the app

- with one process: waitress in this process (``--threads`` threads);
- with ``--processes N`` (N > 1, Linux and other Unix): N waitress processes sharing one listening socket (the
  kernel spreads the connections), or with ``--server gunicorn`` gunicorn with N worker processes of ``--threads``
  threads each (``gthread``; measured slower than waitress per process, see ``bench/bench_finder.py``). Each web
  process builds its own app after the fork and loads the registry itself; what must
  be the same in all of them lives outside the processes: uploaded sets under ``var/uploads/``, jobs and atlas
  status in the job queue's store, rate-limit counters in ``YIZHAN_RATE_LIMIT_STORAGE`` (``memory://`` counts per
  process). The same by hand, e.g. behind a reverse proxy::

      yizhan worker --workers 2 &
      gunicorn --workers 4 --threads 8 --worker-class gthread --bind 127.0.0.1:8000 'webmap.serving:wsgi_app()'

  or several ``yizhan serve --no-worker --port 800X`` processes behind the proxy, with one ``yizhan worker``.

:class:`QueueDepthFilter` folds waitress's "Task queue depth is N" warnings (one per queued request) into one line
per interval.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)


class QueueDepthFilter(logging.Filter):
    """On waitress's ``waitress.queue`` logger: instead of one warning per queued request, one line per
    ``interval`` seconds with how many requests had to queue and the deepest the queue got."""

    def __init__(self, interval: float = 10.0):
        super().__init__("waitress.queue")
        self.interval = interval
        self._lock = threading.Lock()
        self._count = 0
        self._max = 0
        self._since = time.monotonic()

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg if isinstance(record.msg, str) else ""
        if "queue depth" not in msg.lower():
            return True
        depth = record.args[0] if isinstance(record.args, tuple) and record.args else 0
        with self._lock:
            self._count += 1
            self._max = max(self._max, int(depth) if isinstance(depth, (int, float)) else 0)
            now = time.monotonic()
            if now - self._since < self.interval:
                return False
            count, deepest, span = self._count, self._max, now - self._since
            self._count, self._max, self._since = 0, 0, now
        record.msg = "task queue depth: %d requests waited for a thread in the last %.0f s (deepest queue %d)"
        record.args = (count, span, deepest)
        return True


def install_queue_filter(interval: float = 10.0) -> QueueDepthFilter:
    """Put a :class:`QueueDepthFilter` on waitress's queue logger (once)."""
    logger = logging.getLogger("waitress.queue")
    for f in logger.filters:
        if isinstance(f, QueueDepthFilter):
            return f
    f = QueueDepthFilter(interval)
    logger.addFilter(f)
    return f


def start_worker(workers: int) -> subprocess.Popen:
    """Start ``yizhan worker --workers N`` as a child process (same interpreter, same environment)."""
    cmd = [sys.executable, "-m", "webmap.cli", "worker", "--workers", str(workers)]
    log.info("starting the job worker: %s", " ".join(cmd))
    return subprocess.Popen(cmd)


def wsgi_app():
    """The app for a WSGI server that imports it by name (gunicorn ``'webmap.serving:wsgi_app()'``): the registry
    loaded before the first request, and the finder's per-station answers prepared in the background."""
    from webmap import create_app

    app = create_app()
    snap = app.extensions["yizhan"].snapshot()  # load the registry and build the indexes before the first request
    threading.Thread(target=_prepare_finder, args=(app, snap), name="yizhan-finder-warm", daemon=True).start()
    return app


def _prepare_finder(app, snap) -> None:
    """Make every station's ``/api/nearest`` fragments in both languages (about 0.3 ms each), so that no finder
    request pays for the first answer near a station."""
    from webmap.finder_json import finder_json

    t0 = time.perf_counter()
    try:
        frags = finder_json(snap)
        for language in ("zh", "en"):
            with app.test_request_context(f"/api/nearest?lang={language}"):
                for pos in range(len(snap.gdf)):
                    frags.station(pos, language)
                    if pos % 256 == 255:
                        time.sleep(0)  # let requests in between
    except Exception:  # noqa: BLE001 - the fragments are made on first use anyway
        log.exception("preparing the finder's answers failed")
        return
    log.info("finder answers prepared for %d stations in %.1f s", len(snap.gdf), time.perf_counter() - t0)


def run_waitress_processes(host: str, port: int, processes: int, threads: int) -> None:
    """Several waitress processes on one listening socket (bound here, inherited by each forked process; the kernel
    hands each connection to one of them). Each process builds its own app after the fork. Linux/Unix only."""
    import socket

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    children: list[int] = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:  # the web process
            code = 1
            try:
                from waitress import serve as waitress_serve

                install_queue_filter()
                waitress_serve(wsgi_app(), sockets=[sock], threads=threads, ident="yizhan")
                code = 0
            except KeyboardInterrupt:
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    sock.close()

    def stop(signum, _frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for pid in children:
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue


def run_gunicorn(host: str, port: int, processes: int, threads: int) -> None:
    """Serve with gunicorn: ``processes`` web processes of ``threads`` threads each (each builds its own app)."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"{host}:{port}", "workers": processes, "threads": threads,
                               "worker_class": "gthread", "preload_app": False, "timeout": 120,
                               "graceful_timeout": 20, "keepalive": 5, "accesslog": None}.items():
                self.cfg.set(key, value)

        def load(self):
            return wsgi_app()

    _App().run()


def serve(host: str, port: int, threads: int, processes: int = 1, workers: int = 2, with_worker: bool = True,
          server: str = "waitress") -> None:
    """The web server (waitress; several waitress processes or gunicorn with ``processes`` > 1) and, beside it, the
    job worker."""
    child = start_worker(workers) if with_worker and workers > 0 else None
    try:
        if processes > 1 or server == "gunicorn":
            if os.name != "posix":
                raise SystemExit("--processes needs Linux/Unix; on Windows run several `yizhan serve --no-worker "
                                 "--port ...` behind a reverse proxy")
            log.info("yizhan serving on http://%s:%d (%s, %d processes x %d threads)", host, port, server, processes,
                     threads)
            if server == "gunicorn":
                run_gunicorn(host, port, processes, threads)
            else:
                run_waitress_processes(host, port, processes, threads)
        else:
            from waitress import serve as waitress_serve

            install_queue_filter()
            app = wsgi_app()
            log.info("yizhan serving on http://%s:%d (waitress, %d threads)", host, port, threads)
            waitress_serve(app, host=host, port=port, threads=threads, ident="yizhan")
    finally:
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGINT)  # huey: finish the running jobs, then stop
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
