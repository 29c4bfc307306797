#!/usr/bin/env python3
"""Benchmarks for the worker finder (issue 3, section 8). Figures are printed, not asserted.

    .venv/bin/python bench/bench_finder.py                 # everything
    .venv/bin/python bench/bench_finder.py --only api      # in-process latency + HTTP throughput
    git archive main | tar -x -C /tmp/before && .venv/bin/python bench/bench_finder.py --only api --before /tmp/before
    .venv/bin/python bench/bench_finder.py --only page     # page bytes / first cluster, vs naive Folium
    .venv/bin/python bench/bench_finder.py --only national # 186,000-station NearestIndex

1. ``/api/nearest``: in-process latency (Flask test client; median and p99) over the 3,676-station demo
   registry, beside the previous way of writing the answer (``FINDER_FRAGMENTS=False``); then over HTTP:
   throughput and latency under waitress (separate process, 8 threads) with Debian's ``wrk`` (or, without it,
   the benchmark's own keep-alive client) at 16 and 64 connections, side by side with the trivial
   ``/api/health`` on the same server in the same run (the nearest/trivial ratio); ``/api/nearest`` again while
   8 clients keep asking for printed sheets (heavy requests, which this tree sends to its job workers); with
   ``--before DIR`` the same figures for an older checkout in the same run; and the scaling of nearest
   throughput with gunicorn web processes (1, 2, 4).
2. The finder page: bytes on first load (HTML + scripts + styles + station GeoJSON, gzip as served) and
   the time until the first cluster is drawn in headless Chromium; the same for a naive Folium map with
   one ``Marker`` + popup per station in a ``MarkerCluster`` (assets served locally too) as the baseline.
3. The same nearest query on a synthetic national-scale registry of 186,000 stations.
4. (``--only change``) What seeing registry changes without a restart costs ``/api/nearest`` (issue 10): the
   same in-process latency with the data-version check off (the baseline, as before issue 10), at the default
   (at most once a second per process) and on every request; then the time for a change written by another
   process (another engine on the same SQLite file) to show in this one, and what a rebuild costs.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
YUNNAN = (97.6, 21.2, 106.1, 29.2)


def demo_registry(tmp: Path) -> str:
    """A SQLite registry holding the demo set (generated into ``tmp`` if data/geo lacks the CSV)."""
    from stations.demo import demo_csv_path, load_demo, write_demo_csv
    from stations.registry import Registry

    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    path = demo_csv_path()
    if not path.exists():
        path = write_demo_csv(tmp / "stations_demo.csv")
    load_demo(Registry(url), path)
    return url


def pct(values, q):
    return float(np.percentile(np.asarray(values) * 1000, q))


def random_points(n, seed=1):
    rng = random.Random(seed)
    return [(rng.uniform(YUNNAN[0], YUNNAN[2]), rng.uniform(YUNNAN[1], YUNNAN[3])) for _ in range(n)]


# --------------------------------------------------------------------------------------------- 1. API
def bench_in_process(url: str, n: int = 500) -> None:
    from webmap import create_app

    app = create_app({"DATABASE_URL": url, "TILES": "none"})
    client = app.test_client()
    client.get("/api/health")
    pts = random_points(n)
    cases = {
        "/api/health": lambda i: client.get("/api/health"),
        "/api/nearest k=5": lambda i: client.get("/api/nearest", query_string={"lat": pts[i][1], "lon": pts[i][0]}),
        "/api/nearest k=5 toilet+open_now": lambda i: client.get(
            "/api/nearest", query_string={"lat": pts[i][1], "lon": pts[i][0], "service": "toilet", "open_now": 1}),
    }
    old = create_app({"DATABASE_URL": url, "TILES": "none", "FINDER_FRAGMENTS": False})
    old_client = old.test_client()
    cases["/api/nearest k=5, dict path (before)"] = lambda i: old_client.get(
        "/api/nearest", query_string={"lat": pts[i][1], "lon": pts[i][0]})
    index = app.extensions["yizhan"].index
    cases["NearestIndex.query only"] = lambda i: index.query(pts[i][0], pts[i][1], k=5)
    print(f"\n[1a] in-process latency, {len(app.extensions['yizhan'].gdf)} stations, {n} random points in Yunnan")
    for name, call in cases.items():
        for i in range(n):  # steady state: every station's fragments made (the first answer near a station makes
            call(i)         # them: about 0.3 ms each, once per registry snapshot and language)
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            call(i)
            times.append(time.perf_counter() - t0)
        print(f"    {name:36s} median {pct(times, 50):7.2f} ms   p99 {pct(times, 99):7.2f} ms")


def bench_change_check(url: str, n: int = 600) -> None:
    """``/api/nearest`` with the registry change check off (baseline), every 1 s (default) and on every request."""
    from stations import edits
    from stations.registry import Registry
    from stations.users import User
    from webmap import create_app

    pts = random_points(n, seed=3)
    print(f"\n[4] /api/nearest and the registry change check (in-process, {n} random points in Yunnan)")
    configs = (("check off (baseline, as before)", float("inf")), ("check every 1 s (default)", 1.0),
               ("check on every request", 0.0))
    clients = {}
    for name, every in configs:
        client = create_app({"DATABASE_URL": url, "TILES": "none", "REGISTRY_CHECK_SECONDS": every}).test_client()
        for i in range(20):
            client.get("/api/nearest", query_string={"lat": pts[i][1], "lon": pts[i][0]})
        clients[name] = client
    results = {name: [] for name, _ in configs}
    rounds = 6  # interleaved, so that the machine's other load falls on all three alike
    for r in range(rounds):
        for name, _ in configs:
            for i in range(r * n // rounds, (r + 1) * n // rounds):
                t0 = time.perf_counter()
                clients[name].get("/api/nearest", query_string={"lat": pts[i][1], "lon": pts[i][0]})
                results[name].append(time.perf_counter() - t0)
    for name, times in results.items():
        print(f"    {name:36s} median {pct(times, 50):7.2f} ms   p99 {pct(times, 99):7.2f} ms   "
              f"mean {statistics.mean(times) * 1000:7.2f} ms")
    base = statistics.median(results["check off (baseline, as before)"])
    for name in list(results)[1:]:
        print(f"    {name:36s} median {statistics.median(results[name]) / base:5.2f}x the baseline")
    # a change written elsewhere: how long until this process answers with it
    app = create_app({"DATABASE_URL": url, "TILES": "none", "REGISTRY_CHECK_SECONDS": 1.0})
    client = app.test_client()
    sid = app.extensions["yizhan"].gdf["id"].iloc[0]
    other = Registry(url)
    rec = other.get(sid)
    t0 = time.perf_counter()
    edits.set_status(other, User.system("bench"), sid, rec["version"], "temp_closed" if rec["status"] == "open" else "open")
    written = time.perf_counter()
    while client.get(f"/api/stations/{sid}").get_json()["properties"]["status"] == rec["status"]:
        time.sleep(0.01)
    seen = time.perf_counter()
    t1 = time.perf_counter()
    app.extensions["yizhan"].reload()
    rebuild = time.perf_counter() - t1
    print(f"    write in another process: {1000 * (written - t0):.0f} ms; seen here {1000 * (seen - written):.0f} ms "
          f"later (check interval 1 s); one snapshot rebuild of the registry {1000 * rebuild:.0f} ms")
    other.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load(port: int, paths: list[str], seconds: float, concurrency: int) -> tuple[int, int, list[float]]:
    """The benchmark's own keep-alive client (Python threads): requests done, errors, latencies (s)."""
    stop = time.perf_counter() + seconds
    counts = [0] * concurrency
    errors = [0] * concurrency
    lat: list[list[float]] = [[] for _ in range(concurrency)]

    def worker(w):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = w
        while time.perf_counter() < stop:
            path = paths[i % len(paths)]
            i += concurrency
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors[w] += 1
            except (OSError, http.client.HTTPException):
                errors[w] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            lat[w].append(time.perf_counter() - t0)
            counts[w] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), sum(errors), [x for sub in lat for x in sub]


WRK_NEAREST = """
math.randomseed(2)
request = function()
  local lon = %(x0)f + math.random() * %(dx)f
  local lat = %(y0)f + math.random() * %(dy)f
  return wrk.format("GET", string.format("/api/nearest?lat=%%.5f&lon=%%.5f&k=5", lat, lon), {["Accept-Encoding"] = "gzip"})
end
"""


def _wrk(port: int, what: str, seconds: float, concurrency: int, tmp: Path) -> dict:
    """Load with Debian's ``wrk`` (one thread, keep-alive): req/s, p50/p99 (ms), errors (non-2xx, timeouts)."""
    import re

    url = f"http://127.0.0.1:{port}/api/health"
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "60s", "--latency"]
    if what == "nearest":
        script = tmp / "nearest.lua"
        script.write_text(WRK_NEAREST % {"x0": YUNNAN[0], "dx": YUNNAN[2] - YUNNAN[0], "y0": YUNNAN[1],
                                         "dy": YUNNAN[3] - YUNNAN[1]})
        cmd += ["-s", str(script)]
    else:
        cmd += ["-H", "Accept-Encoding: gzip"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 120).stdout

    def ms(label):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors:.*?timeout (\d+)", out)
    return {"rps": float(rps.group(1)) if rps else float("nan"), "p50": ms("50%"), "p99": ms("99%"),
            "errors": (int(bad.group(1)) if bad else 0) + (int(sock.group(1)) if sock else 0)}


def _python_load(port: int, what: str, seconds: float, concurrency: int, tmp: Path) -> dict:
    paths = (["/api/health"] if what == "health" else
             [f"/api/nearest?lat={lat:.5f}&lon={lon:.5f}&k=5" for lon, lat in random_points(4000, seed=2)])
    n, errors, lat = _load(port, paths, seconds, concurrency)
    return {"rps": n / seconds, "p50": pct(lat, 50) if lat else float("nan"),
            "p99": pct(lat, 99) if lat else float("nan"), "errors": errors}


class Server:
    """The app of source tree ``tree`` served on a free port in separate processes: waitress with ``threads``
    threads (``processes`` == 1) or gunicorn with ``processes`` x ``threads``; with ``jobs`` a ``yizhan worker`` of
    2 processes beside it (the tree must have webmap.jobs)."""

    def __init__(self, tree: Path, db_url: str, var: Path, *, processes: int = 1, threads: int = 8, jobs: bool = False,
                 server: str = "waitress"):
        self.port = _free_port()
        var.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(tree), "DATABASE_URL": db_url, "YIZHAN_VAR_DIR": str(var),
               "YIZHAN_TILES": "none", "YIZHAN_RATE_LIMITS": "off", "YIZHAN_JOBS": "queue" if jobs else "inline",
               "YIZHAN_QUEUE_URL": f"sqlite:///{var / 'jobs.sqlite'}"}
        self.procs = []
        if jobs:
            self.procs.append(subprocess.Popen([sys.executable, "-m", "webmap.cli", "worker", "--workers", "2"],
                                               cwd=tree, env=env, stderr=subprocess.DEVNULL))
        if processes == 1 and server == "waitress":
            # as `yizhan serve` does where the tree has webmap.serving (this tree); the old tree as it served then
            code = (
                "import logging; logging.basicConfig(level=logging.WARNING)\n"
                "from waitress import serve\n"
                "try:\n"
                "    from webmap.serving import install_queue_filter, wsgi_app\n"
                "    install_queue_filter(); app = wsgi_app()\n"
                "except ImportError:\n"
                "    logging.getLogger('waitress.queue').setLevel(logging.ERROR)\n"
                "    from webmap import create_app\n"
                f"    app = create_app({{'DATABASE_URL': {db_url!r}, 'TILES': 'none'}})\n"
                "    app.extensions['yizhan'].snapshot()\n"
                f"serve(app, host='127.0.0.1', port={self.port}, threads={threads}, _quiet=True)\n"
            )
            cmd = [sys.executable, "-c", code]
        elif server == "waitress":
            cmd = [sys.executable, "-c", "import logging; logging.basicConfig(level=logging.WARNING)\n"
                   "from webmap.serving import run_waitress_processes\n"
                   f"run_waitress_processes('127.0.0.1', {self.port}, {processes}, {threads})\n"]
        else:
            cmd = [sys.executable, "-m", "gunicorn", "--workers", str(processes), "--threads", str(threads),
                   "--worker-class", "gthread", "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
                   "--timeout", "300", "webmap.serving:wsgi_app()"]
        self.procs.append(subprocess.Popen(cmd, cwd=tree, env=env))
        deadline = time.time() + 120
        while time.time() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                conn.request("GET", "/api/nearest?lat=25.04&lon=102.71")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.3)
            finally:
                conn.close()
        time.sleep(5 if jobs else 3)  # the worker says it is alive; the finder's answers are prepared

    def warm(self, seconds: float = 2.0) -> None:
        """Every process answers nearest queries for a while (fragments, caches, all gunicorn workers)."""
        paths = [f"/api/nearest?lat={lat:.5f}&lon={lon:.5f}&k=5" for lon, lat in random_points(4000, seed=2)]
        _load(self.port, paths, seconds, 8)

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


class Heavy:
    """``n`` clients each asking for printed sheets (A4 PNG, a different prefecture each time) in a loop; a 503
    answer (the server's cap on waiting heavy requests) is counted and retried after a pause."""

    AREAS = ("530100", "530300", "530400", "530500", "530600", "530700", "530800", "530900", "532300", "532500",
             "532600", "532800", "532900", "533100", "533300", "533400")

    def __init__(self, port: int, n: int = 8):
        self.port, self.n = port, n
        self.done = self.refused = self.failed = 0
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]

    def _run(self, i: int) -> None:
        k = i
        while not self.stop_flag.is_set():
            area = self.AREAS[k % len(self.AREAS)]
            k += self.n
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                conn.request("GET", f"/print/sheet.png?area={area}&dpi=100&layers=outlines,stations")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    self.done += 1
                elif resp.status in (429, 503):
                    self.refused += 1
                    self.stop_flag.wait(min(2.0, float(resp.getheader("Retry-After") or 1)))
                else:
                    self.failed += 1
            except (OSError, http.client.HTTPException):
                self.failed += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(600)


def bench_http(url: str, seconds: float, before: Path | None, tmp: Path, scaling: tuple[int, ...] = (1, 2, 4)) -> None:
    """[1b] throughput and latency over HTTP, the old tree (``before``) and this one in the same run."""
    import shutil

    load = _wrk if shutil.which("wrk") else _python_load
    gen = "wrk (Debian, 1 thread, keep-alive)" if load is _wrk else "the benchmark's Python keep-alive client"
    print(f"\n[1b] HTTP, separate server processes, load from {gen}, {seconds:g} s per figure; machine: "
          f"{os.cpu_count()} CPUs shared with the load generator")
    trees = ([("before", before, False)] if before else []) + [("after", ROOT, True)]
    results = {}
    for label, tree, jobs in trees:
        server = Server(tree, url, tmp / f"var-{label}", threads=8, jobs=jobs)
        try:
            server.warm()
            row = {}
            for conc in (16, 64):
                h = load(server.port, "health", seconds, conc, tmp)
                n = load(server.port, "nearest", seconds, conc, tmp)
                row[conc] = (h, n)
                print(f"    {label:6s} waitress 8 threads, {conc:2d} connections: /api/health {h['rps']:6.0f} req/s "
                      f"p99 {h['p99']:6.1f} ms | /api/nearest {n['rps']:6.0f} req/s p50 {n['p50']:6.1f} ms "
                      f"p99 {n['p99']:7.1f} ms errors {n['errors']} | nearest/health {n['rps'] / h['rps']:.2f}x")
            with Heavy(server.port, 8) as heavy:
                time.sleep(3)  # the heavy requests are in flight
                n = load(server.port, "nearest", seconds * 2, 16, tmp)
            if not n["rps"] or n["rps"] != n["rps"]:  # no answer completed within the run
                n.update(p50=float("inf"), p99=float("inf"))
                nearest = f"no answer within {seconds * 2:g} s"
            else:
                nearest = f"{n['rps']:6.0f} req/s p50 {n['p50']:6.1f} ms p99 {n['p99']:7.1f} ms errors {n['errors']}"
            print(f"    {label:6s} with 8 heavy clients (A4 PNG sheets): /api/nearest {nearest}; heavy: {heavy.done} "
                  f"drawn, {heavy.refused} refused (503/429, retried), {heavy.failed} failed")
            results[label] = (row, n)
        finally:
            server.stop()
    if "before" in results:
        (b, bh), (a, ah) = results["before"], results["after"]
        print("    summary (after vs before): " + "; ".join(
            f"{c} conn. ratio {b[c][1]['rps'] / b[c][0]['rps']:.2f}x -> {a[c][1]['rps'] / a[c][0]['rps']:.2f}x, "
            f"nearest p99 {b[c][1]['p99']:.0f} -> {a[c][1]['p99']:.0f} ms" for c in (16, 64))
              + f"; with 8 heavy: nearest p99 {bh['p99']:.0f} -> {ah['p99']:.0f} ms")
    print(f"\n[1c] scaling with web processes (this tree, 8 threads each; waitress processes on one socket, and "
          f"gunicorn gthread)")
    for server in ("waitress", "gunicorn"):
        base = None
        for processes in scaling:
            srv = Server(ROOT, url, tmp / f"var-{server}-{processes}", processes=processes, threads=8, server=server)
            try:
                srv.warm(3.0)
                h = load(srv.port, "health", seconds, 16, tmp)
                n = load(srv.port, "nearest", seconds, 16, tmp)
                n64 = load(srv.port, "nearest", seconds, 64, tmp)
            finally:
                srv.stop()
            base = base or n["rps"]
            print(f"    {server:8s} {processes} process(es): /api/nearest {n['rps']:6.0f} req/s ({n['rps'] / base:.2f}x "
                  f"of 1) p99 {n['p99']:6.1f} ms at 16 conn., {n64['rps']:6.0f} req/s p99 {n64['p99']:6.1f} ms at 64 | "
                  f"/api/health {h['rps']:6.0f} req/s | nearest/health {n['rps'] / h['rps']:.2f}x")


# --------------------------------------------------------------------------------------------- 2. page
def naive_folium_html(gdf, static) -> str:
    """The baseline: stock ``folium.Map`` with one Marker + Popup per station inside a MarkerCluster.

    Only the asset URLs change (Folium's CDN files replaced by the vendored ones, since the benchmark runs
    offline) and a five-line stand-in for the jQuery ``$`` that Folium's popups call.
    """
    import folium
    from folium.plugins import MarkerCluster

    class LocalMap(folium.Map):
        default_js = [("leaflet", static("vendor/leaflet/leaflet.js"))]
        default_css = [("leaflet_css", static("vendor/leaflet/leaflet.css"))]

    class LocalCluster(MarkerCluster):
        default_js = [("markerclusterjs", static("vendor/leaflet.markercluster/leaflet.markercluster.js"))]
        default_css = [("markerclustercss", static("vendor/leaflet.markercluster/MarkerCluster.css")),
                       ("markerclusterdefaultcss", static("vendor/leaflet.markercluster/MarkerCluster.Default.css"))]

    m = LocalMap(location=[25.0, 101.6], zoom_start=6, tiles=None, maxZoom=18)  # no tiles: the map needs its own maxZoom
    m.get_root().header.add_child(folium.Element(
        "<script>window.$ = function (s) { var t = document.createElement('template');"
        " t.innerHTML = s.trim(); return [t.content.firstChild]; };</script>"))
    cluster = LocalCluster().add_to(m)
    for row in gdf.itertuples():
        folium.Marker([row.lat, row.lon], popup=folium.Popup(f"{row.name}<br>{row.address}", max_width=250),
                      tooltip=None).add_to(cluster)
    return m.get_root().render()


def bench_page(url: str) -> None:
    from flask import url_for

    from webmap import create_app

    app = create_app({"DATABASE_URL": url, "TILES": "none"})
    gdf = app.extensions["yizhan"].gdf
    with app.test_request_context("/"):
        t0 = time.perf_counter()
        naive = naive_folium_html(gdf, lambda f: url_for("static", filename=f))
        naive_build = time.perf_counter() - t0
    app.add_url_rule("/bench/naive", "bench_naive", lambda: naive)

    client = app.test_client()
    t0 = time.perf_counter()
    html = client.get("/").data
    page_build = time.perf_counter() - t0  # first request: builds and caches the Folium base map

    # a cheap phone on a slow mobile link: Chrome DevTools' "Slow 3G"-like profile (400 kbit/s, 400 ms RTT)
    slow = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}

    def fetched_bytes(page_url, network=None):
        from playwright.sync_api import sync_playwright

        sizes = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 390, "height": 844})
            page = ctx.new_page()

            def on_response(resp):
                try:
                    sizes[resp.url] = int(resp.headers.get("content-length") or len(resp.body()))
                except Exception:  # noqa: BLE001
                    pass

            page.on("response", on_response)
            if network:
                cdp = ctx.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", network)
            t0 = time.perf_counter()
            page.goto(page_url, wait_until="commit")
            page.wait_for_selector(".marker-cluster", timeout=120000)
            first_cluster = time.perf_counter() - t0
            page.wait_for_timeout(500)
            ctx.close()
            browser.close()
        return sum(sizes.values()), len(sizes), first_cluster

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        print(f"\n[2] the page, {len(gdf)} stations, headless Chromium 390x844, served by werkzeug on 127.0.0.1 "
              f"(gzip as the app serves it; bytes are the wire sizes of every response)")
        results = {}
        for name, path in (("finder (GeoJSON + client clusters)", "/"), ("naive Folium (1 Marker per station)", "/bench/naive")):
            if not os.path.exists(CHROMIUM):
                print("    chromium not installed: skipping the browser figures")
                break
            fetched_bytes(base + path)  # warm caches (server side only; each run is a fresh browser)
            total, n, first = fetched_bytes(base + path)
            _, _, first_slow = fetched_bytes(base + path, network=slow)
            results[name] = (total, n, first, first_slow)
        print(f"    {'':38s} {'HTML':>10s} {'build':>9s} {'first load':>12s} {'requests':>9s} {'1st cluster':>12s}"
              f" {'on slow 3G':>11s}")
        for name, html_len, build in (("finder (GeoJSON + client clusters)", len(html), page_build),
                                      ("naive Folium (1 Marker per station)", len(naive.encode()), naive_build)):
            total, n, first, first_slow = results.get(name, (0, 0, float("nan"), float("nan")))
            print(f"    {name:38s} {html_len / 1024:8.1f} KB {build * 1000:7.0f} ms {total / 1024:9.1f} KB "
                  f"{n:9d} {first * 1000:9.0f} ms {first_slow:9.1f} s")
        print("    (1st cluster: from navigation to the first cluster icon; 'slow 3G' emulates 400 kbit/s and 400 ms RTT"
              " through the DevTools protocol)")
    finally:
        server.shutdown()


# --------------------------------------------------------------------------------------------- 3. national
def bench_national(n: int = 186_000, queries: int = 1000) -> None:
    import pandas as pd

    from stations.nearest import NearestIndex
    from stations.schema import SERVICE_KEYS

    rng = np.random.default_rng(186)
    # clustered like real stations: around 2,000 "towns" over mainland China's extent
    towns = np.column_stack((rng.uniform(75, 133, 2000), rng.uniform(19, 50, 2000)))
    pick = rng.integers(0, len(towns), n)
    lon = towns[pick, 0] + rng.normal(0, 0.08, n)
    lat = towns[pick, 1] + rng.normal(0, 0.08, n)
    df = pd.DataFrame({"id": [f"CN-{i:06d}" for i in range(n)], "lon": lon, "lat": lat, "status": "open"})
    for j, key in enumerate(SERVICE_KEYS):
        df[key] = rng.random(n) < (0.9 if j < 2 else 0.3)
    df.loc[rng.random(n) < 0.02, "wifi"] = True
    t0 = time.perf_counter()
    index = NearestIndex(df)
    build = time.perf_counter() - t0
    pts = [(towns[i % len(towns), 0] + rng.normal(0, 0.2), towns[i % len(towns), 1] + rng.normal(0, 0.2))
           for i in range(queries)]
    print(f"\n[3] national scale: {n:,} synthetic stations, NearestIndex built in {build:.2f} s; {queries} queries")
    for name, kwargs in (("k=5", {}), ("k=5 toilet", {"services": ["toilet"]}),
                         ("k=5 toilet+microwave+wifi", {"services": ["toilet", "microwave", "wifi"]}),
                         ("k=100", {"k": 100})):
        times = []
        for lo, la in pts:
            t0 = time.perf_counter()
            index.query(lo, la, **({"k": 5} | kwargs))
            times.append(time.perf_counter() - t0)
        print(f"    {name:28s} median {pct(times, 50):6.2f} ms   p99 {pct(times, 99):6.2f} ms")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="yizhan finder benchmarks (figures printed, not asserted)")
    ap.add_argument("--only", choices=["api", "page", "national", "change"], action="append")
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each HTTP load run")
    ap.add_argument("--before", type=Path, help="a checkout of the code before (e.g. `git archive main | tar -x -C "
                    "DIR`): its server is measured in the same run, beside this tree's")
    ap.add_argument("--processes", default="1,2,4", help="web process counts for the scaling figures")
    args = ap.parse_args(argv)
    only = set(args.only or ["api", "page", "national", "change"])
    with tempfile.TemporaryDirectory() as tmp:
        url = demo_registry(Path(tmp)) if only & {"api", "page", "change"} else None
        if "api" in only:
            bench_in_process(url)
            bench_http(url, args.seconds, args.before, Path(tmp),
                       tuple(int(p) for p in args.processes.split(",") if p.strip()))
        if "page" in only:
            bench_page(url)
        if "change" in only:
            bench_change_check(url)
        if "national" in only:
            bench_national()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
