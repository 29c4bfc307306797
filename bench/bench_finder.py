#!/usr/bin/env python3
"""Benchmarks for the worker finder (issue 3, section 8). Figures are printed, not asserted.

    .venv/bin/python bench/bench_finder.py                 # everything
    .venv/bin/python bench/bench_finder.py --only api      # in-process latency + HTTP throughput
    .venv/bin/python bench/bench_finder.py --only page     # page bytes / first cluster, vs naive Folium
    .venv/bin/python bench/bench_finder.py --only national # 186,000-station NearestIndex

1. ``/api/nearest``: in-process latency (Flask test client; median and p99) over the 3,676-station demo
   registry, and HTTP throughput under waitress (a separate process, 4 threads) driven by a local
   load generator (Python threads with keep-alive connections), side by side with the trivial
   ``/api/health`` on the same server in the same run.
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
    index = app.extensions["yizhan"].index
    cases["NearestIndex.query only"] = lambda i: index.query(pts[i][0], pts[i][1], k=5)
    print(f"\n[1a] in-process latency, {len(app.extensions['yizhan'].gdf)} stations, {n} random points in Yunnan")
    for name, call in cases.items():
        for i in range(20):
            call(i)
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
    stop = time.perf_counter() + seconds
    counts = [0] * concurrency
    errors = [0] * concurrency
    lat: list[list[float]] = [[] for _ in range(concurrency)]

    def worker(w):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
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
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
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


def bench_http(url: str, seconds: float, concurrency: int) -> None:
    port = _free_port()
    code = (
        "import logging; logging.basicConfig(level=logging.WARNING); logging.getLogger('waitress.queue').setLevel(logging.ERROR);"
        "from waitress import serve; from webmap import create_app;"
        f"app = create_app({{'DATABASE_URL': {url!r}, 'TILES': 'none'}}); app.extensions['yizhan'].snapshot();"
        f"serve(app, host='127.0.0.1', port={port}, threads=4, _quiet=True)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        nearest = [f"/api/nearest?lat={lat:.5f}&lon={lon:.5f}&k=5" for lon, lat in random_points(2000, seed=2)]
        _load(port, ["/api/health"], 1.0, 2)  # warm
        print(f"\n[1b] HTTP under waitress (4 threads, separate process), {concurrency} keep-alive clients, "
              f"{seconds:.0f} s each, same server, same run; machine: {os.cpu_count()} CPUs "
              f"(the Python load generator shares them)")
        for name, paths in (("/api/health (trivial)", ["/api/health"]), ("/api/nearest k=5", nearest)):
            n, errors, lat = _load(port, paths, seconds, concurrency)
            print(f"    {name:24s} {n / seconds:8.0f} req/s   median {pct(lat, 50):6.1f} ms   "
                  f"p99 {pct(lat, 99):6.1f} ms   errors {errors}")
    finally:
        proc.terminate()
        proc.wait(10)


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
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args(argv)
    only = set(args.only or ["api", "page", "national", "change"])
    with tempfile.TemporaryDirectory() as tmp:
        url = demo_registry(Path(tmp)) if only & {"api", "page", "change"} else None
        if "api" in only:
            bench_in_process(url)
            bench_http(url, args.seconds, args.concurrency)
        if "page" in only:
            bench_page(url)
        if "change" in only:
            bench_change_check(url)
        if "national" in only:
            bench_national()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
