"""Shared fixtures: a small, deterministic station registry in a temporary SQLite database, the app and
its test client (other test modules reuse ``app`` and ``client``), and the full demo registry for the
browser tests.

Browser tests share :data:`CHROMIUM` / :data:`CHROMIUM_ARGS`, the ``live`` fixture (the app over the demo registry
served on 127.0.0.1 in a thread, one per test session; :func:`serve` starts others with different settings) and
the ``browser`` fixture (one headless Debian Chromium per session, driven by Playwright).

``FIXTURE_STATIONS`` (built by :func:`fixture_stations`) are 40 stations: 36 scattered within 15 km of
Kunming's 东风广场 (25.0406 N, 102.7129 E) with varied services, hours and statuses, one with a hostile
name (``HOSTILE_NAME``), and three far away (丽江, 景洪, 昭通). All have ``source = "synthetic-demo"``
except ``YN-T-REAL``.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from stations.schema import SERVICE_KEYS

# Heavy requests run in the request itself unless a test starts job workers (tests/test_jobs.py does, and sets
# JOBS="queue" on its apps): an app without a consumer would answer them 503.
os.environ.setdefault("YIZHAN_JOBS", "inline")

KUNMING = (102.7129, 25.0406)  # (lon, lat) 东风广场
HOSTILE_ID = "YN-T-XSS"
HOSTILE_NAME = '<img src=x onerror=alert(1)>"驿站&<b>'
GEOD = Geod(ellps="WGS84")

# the fixture's service shares (e-bike charging, added later, is every third station)
SHARES = {"water": 0.9, "charging": 0.85, "microwave": 0.4, "toilet": 0.4, "seating": 0.9, "first_aid": 0.5,
          "aircon": 0.3, "wifi": 0.4}
HOURS_CHOICES = ["24小时", "08:00-22:00", "周一至周五 09:00-17:00", "周一至周日 8:30-20:30", "Mo-Fr 09:00-17:00"]


def _hours_json(text: str) -> str:
    from stations.hours import parse_hours

    return parse_hours(text).to_json()


def fixture_stations() -> pd.DataFrame:
    """The fixture registry rows (all columns of stations.schema.COLUMNS)."""
    rng = np.random.default_rng(20261129)
    rows = []
    for i in range(36):
        az = float(rng.uniform(0, 360))
        dist = float(rng.uniform(150, 15000))
        lon, lat, _ = GEOD.fwd(KUNMING[0], KUNMING[1], az, dist)
        services = {k: bool(rng.random() < p) for k, p in SHARES.items()}
        services["ebike"] = i % 3 == 0  # not from rng: adding the service moved no fixture station
        rows.append({
            "id": f"YN-T-{i:03d}", "name": f"测试驿站{i:02d}号（示例）", "address": f"昆明市五华区示例路{i + 1}号",
            "lon": round(lon, 6), "lat": round(lat, 6), "prefecture_adcode": "530100", "county_adcode": "530102",
            "host": ["union", "bank", "petrol", "shop", "community"][i % 5], **services,
            "opening_hours": HOURS_CHOICES[i % len(HOURS_CHOICES)],
            "phone": f"0871-00{i:05d}", "status": "temp_closed" if i % 11 == 5 else "open",
            "source": "synthetic-demo", "updated_at": "2026-11-29T00:00:00+00:00",
        })
    lon, lat, _ = GEOD.fwd(KUNMING[0], KUNMING[1], 30, 30)
    rows.append({
        "id": HOSTILE_ID, "name": HOSTILE_NAME, "address": "<script>alert('addr')</script>",
        "lon": round(lon, 6), "lat": round(lat, 6), "prefecture_adcode": "530100", "county_adcode": "530102",
        "host": "shop", **{k: k in ("water", "toilet") for k in SERVICE_KEYS}, "opening_hours": "24小时",
        "phone": "0871-00999999", "status": "open", "source": "synthetic-demo", "updated_at": "2026-11-29T00:00:00+00:00",
    })
    for sid, name, lon, lat, pref, county in [
        ("YN-T-LJ", "丽江测试驿站（示例）", 100.2330, 26.8721, "530700", "530702"),
        ("YN-T-JH", "景洪测试驿站（示例）", 100.7979, 22.0017, "532800", "532801"),
        ("YN-T-REAL", "昭通测试驿站", 103.7172, 27.3382, "530600", "530602"),
    ]:
        rows.append({
            "id": sid, "name": name, "address": "示例路1号", "lon": lon, "lat": lat, "prefecture_adcode": pref,
            "county_adcode": county, "host": "union", **{k: True for k in SERVICE_KEYS}, "opening_hours": "24小时",
            "phone": "", "status": "open", "source": "test-fixture" if sid == "YN-T-REAL" else "synthetic-demo",
            "updated_at": "2026-11-29T00:00:00+00:00",
        })
    df = pd.DataFrame(rows)
    df["hours_json"] = [_hours_json(t) for t in df["opening_hours"]]
    return df


@pytest.fixture(scope="session")
def fixture_db_url(tmp_path_factory) -> str:
    """A temporary SQLite registry holding :func:`fixture_stations`."""
    from stations.registry import Registry

    url = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'fixture.sqlite'}"
    Registry(url).replace_all(fixture_stations())
    return url


@pytest.fixture(scope="session")
def demo_db_url(tmp_path_factory) -> str:
    """A temporary SQLite registry with the full 3,676-station demo set plus the hostile station.

    The demo CSV is generated into a temporary folder when ``data/geo`` does not hold it.
    """
    from stations.demo import demo_csv_path, load_demo, write_demo_csv
    from stations.registry import Registry

    tmp = tmp_path_factory.mktemp("registry")
    url = f"sqlite:///{tmp / 'demo.sqlite'}"
    reg = Registry(url)
    path = demo_csv_path()
    if not path.exists():
        path = write_demo_csv(tmp / "stations_demo.csv")
    load_demo(reg, path)
    extra = fixture_stations()
    reg.upsert(extra[extra["id"] == HOSTILE_ID])
    return url


@pytest.fixture()
def app(fixture_db_url, monkeypatch):
    """The app over the fixture registry, with tiles off."""
    from webmap import create_app

    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    app = create_app({"TESTING": True, "DATABASE_URL": fixture_db_url, "TILES": "none"})
    yield app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def artifacts_dir():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-artifacts")
    os.makedirs(path, exist_ok=True)
    return path


# ------------------------------------------------------------------------------------------ browser tests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


class LiveServer:
    """The app served by werkzeug's ``make_server`` on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server_port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def get_json(self, path: str, **params):
        query = urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=30) as resp:
            return json.loads(resp.read())

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


def copy_sqlite(db_url: str, dest) -> str:
    """A copy of the SQLite registry at ``db_url`` in ``dest`` through SQLite's backup API (a copy of the main file
    alone misses what is still in its write-ahead log: the fixture registries live there); returns its URL."""
    import sqlite3

    src, dst = sqlite3.connect(db_url.removeprefix("sqlite:///")), sqlite3.connect(str(dest))
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
    return f"sqlite:///{dest}"


def serve(db_url: str, **config) -> LiveServer:
    """Start the app over ``db_url`` (tiles off unless ``TILES`` is given); call ``.stop()`` when done."""
    from webmap import create_app

    # one browser session's many pages come from one address: the per-client limits would count them all together
    app = create_app({"DATABASE_URL": db_url, "TILES": "none", "RATE_LIMITS": False, **config})
    app.extensions["yizhan"].snapshot()  # load the registry before the browser's first request
    return LiveServer(app)


@pytest.fixture(scope="session")
def live(demo_db_url):
    """The app over the full demo registry, tiles off, for every browser test of the session."""
    server = serve(demo_db_url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium (Playwright) for the session; tests open their own contexts."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
