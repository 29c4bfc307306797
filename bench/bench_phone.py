#!/usr/bin/env python3
"""The finder on a cheap phone (issue 11 §5): Chromium's slow-3G profile (400 kbit/s down and up, 400 ms RTT)
with a 4x CPU throttle, both through the DevTools protocol, for a first visit (empty cache) and a repeat visit
(the same browser profile, its HTTP cache kept), beside the naive Folium page (one folium Marker + Popup per
station in a MarkerCluster, all in one HTML) in the same run. Figures are printed, not asserted.

    .venv/bin/python bench/bench_phone.py [--runs 3] [--rate 4]

"first cluster" is the time from navigation start to the first cluster bubble in the DOM (a MutationObserver
installed before any page script, read as ``performance.now()``); "stations" the time until every station is on
the map (the finder's ``data-stations-loaded``; the naive page has its markers in its HTML). Bytes are the wire
sizes (gzip as the app serves it), served by waitress in this process. The map tiles are off (``TILES=none``): a tile server's speed is not the
app's, and the drawn base is what a phone without tiles shows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_finder import CHROMIUM, CHROMIUM_ARGS, demo_registry, naive_folium_html  # noqa: E402

TIMEOUT = 300_000
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}

FIRST_CLUSTER = """
(() => {
  const seen = () => { if (!window.__firstCluster && document.querySelector('.marker-cluster')) {
      window.__firstCluster = performance.now(); } };
  new MutationObserver(seen).observe(document, {childList: true, subtree: true});
})();
"""

# what the page fetched until its stations were on the map: when each request started and ended (ms from navigation
# start), its body bytes on the wire, and whether the service worker answered it
TIMELINE = """
() => { const nav = performance.getEntriesByType('navigation')[0];
  return [['(page)', 0, nav.responseEnd, nav.encodedBodySize, nav.workerStart > 0]].concat(
    performance.getEntriesByType('resource').map(e => [e.name.replace(location.origin, ''), e.startTime, e.responseEnd,
                                                       e.encodedBodySize, e.workerStart > 0]))
    .concat([['(first cluster)', window.__firstCluster, window.__firstCluster, 0, false]]); }
"""


def visit(ctx, url: str, rate: float, warm: bool = False) -> dict:
    """One visit in ``ctx`` (its cache as left by earlier visits) on slow 3G with the CPU slowed ``rate`` times."""
    page = ctx.new_page()
    sizes = {}

    def on_response(resp):
        try:
            sizes[resp.url] = int(resp.headers.get("content-length") or 0)
        except Exception:  # noqa: BLE001
            pass

    page.on("response", on_response)
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    wire = {"bytes": 0, "cached": 0}

    def on_finished(ev):
        wire["bytes"] += ev.get("encodedDataLength", 0)

    cdp.on("Network.loadingFinished", on_finished)
    cdp.on("Network.requestServedFromCache", lambda ev: wire.__setitem__("cached", wire["cached"] + 1))
    # the service worker is a target of its own: the page's throttle does not slow its fetches (precache, the
    # network-first page and station list). Attach to it (paused at start), throttle it the same, count its bytes.
    sw = {"bytes": 0, "requests": 0}

    def to_worker(session_id: str, mid: int, method: str, params: dict | None = None):
        cdp.send("Target.sendMessageToTarget", {"sessionId": session_id, "message": json.dumps(
            {"id": mid, "method": method, "params": params or {}})})

    def on_attached(ev):
        sid = ev["sessionId"]
        if ev["targetInfo"]["type"] == "service_worker":
            to_worker(sid, 1, "Network.enable")
            to_worker(sid, 2, "Network.emulateNetworkConditions", SLOW_3G)
            to_worker(sid, 3, "Emulation.setCPUThrottlingRate", {"rate": rate})
        to_worker(sid, 4, "Runtime.runIfWaitingForDebugger")

    def on_message(ev):
        msg = json.loads(ev["message"])
        if msg.get("method") == "Network.loadingFinished":
            sw["bytes"] += msg["params"].get("encodedDataLength", 0)
            sw["requests"] += 1

    cdp.on("Target.attachedToTarget", on_attached)
    cdp.on("Target.receivedMessageFromTarget", on_message)
    cdp.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False})
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=TIMEOUT)
    page.wait_for_function("() => window.__firstCluster", timeout=TIMEOUT, polling=50)
    first = page.evaluate("() => window.__firstCluster") / 1000
    if "/bench/naive" not in url:
        page.wait_for_selector("body[data-stations-loaded]", timeout=TIMEOUT)
    all_in = time.perf_counter() - t0
    timeline = page.evaluate(TIMELINE) if "/bench/naive" not in url else None
    if warm:  # the first visit leaves the worker installed, its shell precached and the data saved (offline.js)
        page.wait_for_selector("body[data-offline-warm]", timeout=TIMEOUT, state="attached")
    settled = time.perf_counter() - t0
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    page.close()
    return {"first": first, "all": all_in, "bytes": wire["bytes"], "requests": len(sizes), "from_cache": wire["cached"],
            "sw_bytes": sw["bytes"], "sw_requests": sw["requests"], "settled": settled,
            "timeline": timeline}


def _without_csp(wsgi_app, path: str):
    """``wsgi_app`` with the Content-Security-Policy header dropped from the answers to ``path``."""
    def app(environ, start_response):
        if environ.get("PATH_INFO") != path:
            return wsgi_app(environ, start_response)

        def start(status, headers, exc_info=None):
            return start_response(status, [(k, v) for k, v in headers if k.lower() != "content-security-policy"],
                                  exc_info)
        return wsgi_app(environ, start)
    return app


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="fresh browser profiles per page (median reported)")
    ap.add_argument("--rate", type=float, default=4.0, help="CPU throttling rate (4 = a cheap phone)")
    ap.add_argument("--timeline", action="store_true", help="print the finder's requests of the first run's visits")
    ap.add_argument("--no-naive", action="store_true", help="the finder alone (skip the naive Folium page)")
    args = ap.parse_args(argv)

    from flask import url_for
    from playwright.sync_api import sync_playwright
    from waitress import create_server

    from webmap import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": demo_registry(Path(tmp)), "TILES": "none", "RATE_LIMITS": False})
        gdf = app.extensions["yizhan"].gdf
        with app.test_request_context("/"):
            naive = naive_folium_html(gdf, lambda f: url_for("static", filename=f))
        app.add_url_rule("/bench/naive", "bench_naive", lambda: naive)
        app.wsgi_app = _without_csp(app.wsgi_app, "/bench/naive")  # Folium's inline scripts carry no nonce
        # waitress, as `yizhan serve` runs it (HTTP/1.1 keep-alive: on a 400 ms link every new connection costs)
        server = create_server(app, host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}"
        app.test_client().get("/")  # the base map is built once per process: not part of a visit
        print(f"[phone] {len(gdf)} stations; headless Chromium 390x844; slow 3G (400 kbit/s, 400 ms RTT) and "
              f"{args.rate:g}x CPU throttle via CDP; median of {args.runs} fresh profiles, each a first then a repeat visit")
        results = {}
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for name, path in (("finder", "/"), ("naive Folium", "/bench/naive"))[:1 if args.no_naive else 2]:
                    runs = []
                    for _ in range(args.runs):
                        ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                                  has_touch=True)
                        ctx.add_init_script(FIRST_CLUSTER)
                        first = visit(ctx, base + path, args.rate, warm=path == "/")
                        repeat = visit(ctx, base + path, args.rate)
                        print(f"      {name}: first {first['first']:.2f} s, repeat {repeat['first']:.2f} s", flush=True)
                        ctx.close()
                        if args.timeline and name == "finder" and not runs:
                            for kind, v in (("first", first), ("repeat", repeat)):
                                print(f"      {kind} visit: start   end ms  bytes  (w = from the service worker)")
                                for url, start, end, size, worker in sorted(v["timeline"], key=lambda r: r[1]):
                                    print(f"        {start:6.0f} {end:6.0f} {size / 1024:6.1f} {'w' if worker else ' '} {url[:70]}")
                        runs.append((first, repeat))
                    results[name] = runs
                browser.close()
        finally:
            server.close()
        med = {name: {kind: {k: statistics.median(r[i][k] for r in runs) for k in runs[0][i] if k != "timeline"}
                      for i, kind in enumerate(("first", "repeat"))} for name, runs in results.items()}
        print(f"    {'':14s} {'visit':7s} {'1st cluster':>12s} {'all stations':>13s} {'page KB':>8s} {'requests':>9s} "
              f"{'worker KB':>10s} {'worker req':>11s}")
        for name, kinds in med.items():
            for kind, m in kinds.items():
                print(f"    {name:14s} {kind:7s} {m['first']:10.2f} s {m['all']:11.2f} s {m['bytes'] / 1024:8.1f} "
                      f"{m['requests']:9.0f} {m['sw_bytes'] / 1024:10.1f} {m['sw_requests']:11.0f}")
        for kind in ("first", "repeat"):
            if "naive Folium" not in med:
                print(f"    {kind} visit: finder {med['finder'][kind]['first']:.2f} s to the first cluster "
                      f"(goal: first visit <= 3 s, repeat <= 1 s)")
                continue
            f, n = med["finder"][kind]["first"], med["naive Folium"][kind]["first"]
            print(f"    {kind} visit: finder {f:.2f} s vs naive Folium {n:.2f} s to the first cluster: "
                  f"{n / f:.1f}x faster (goal: first visit <= 3 s, repeat <= 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
