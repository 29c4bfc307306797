"""Heavy work in worker processes (issue 14 §2): a real ``yizhan worker`` (huey consumer, 2 processes) on a SQLite
queue in a temporary folder, and apps with ``JOBS="queue"`` sending their heavy requests to it.

Checked: the answers are those the endpoints give inline (same status, type, body); the work happens in the worker
(the web process's own drawing and solving are sabotaged and the answers still come); uploaded sets parsed by a
worker are found by the web process and the other worker; the worker follows the web's data version after the
registry changes; the per-process cap answers 503 with Retry-After; no consumer or a job past its time answers 503;
the atlas runs as a job with progress that a second web app (another process's view) sees, and can be cancelled.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from conftest import KUNMING, copy_sqlite, fixture_stations

ROOT = Path(__file__).resolve().parent.parent


def _wait(predicate, timeout=120.0, step=0.2):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def jobs_env(tmp_path_factory, fixture_db_url):
    """var/, the registry (a copy of the fixture registry: one test changes it), a small demand file, the queue
    URL, and a running `yizhan worker --workers 2` on that queue."""
    tmp = tmp_path_factory.mktemp("jobs")
    db = tmp / "registry.sqlite"
    copy_sqlite(fixture_db_url, db)  # not a file copy: the fixture registry's rows are still in its WAL
    with closing(sqlite3.connect(db)) as conn:
        n = conn.execute("SELECT count(*) FROM stations").fetchone()[0]
    assert n == len(fixture_stations()), n  # the worker answers over the fixture's stations, not an empty registry
    demand = tmp / "riders.csv"
    rows = ["经度,纬度,人数"]
    for i in range(60):  # riders in a 12 km square around 东风广场, the fixture stations' town
        rows.append(f"{KUNMING[0] - 0.06 + (i % 8) * 0.017:.4f},{KUNMING[1] - 0.06 + (i // 8) * 0.016:.4f},{10 + i % 7}")
    demand.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = {
        "YIZHAN_VAR_DIR": str(tmp / "var"),
        "YIZHAN_QUEUE_URL": f"sqlite:///{tmp / 'var' / 'jobs.sqlite'}",
        "DATABASE_URL": f"sqlite:///{db}",
        "YIZHAN_JOBS": "queue",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # this process (the web side) and the worker agree on var/ and the queue
    log = open(tmp / "worker.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "webmap.cli", "worker", "--workers", "2"], cwd=ROOT,
                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    from webmap import jobs

    try:
        _wait(lambda: jobs.consumer_alive(jobs.get_queue(env["YIZHAN_QUEUE_URL"])) or proc.poll() is not None, 90)
        assert proc.poll() is None, (tmp / "worker.log").read_text(errors="replace")
        yield {"tmp": tmp, "db": f"sqlite:///{db}", "demand": str(demand), "queue": env["YIZHAN_QUEUE_URL"],
               "log": tmp / "worker.log", "pid": proc.pid}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _app(jobs_env, mode="queue", **config):
    from webmap import create_app

    return create_app({"TESTING": True, "DATABASE_URL": jobs_env["db"], "TILES": "none", "RATE_LIMITS": False,
                       "PLANNER_DEMAND": jobs_env["demand"], "JOBS": mode, **config})


@pytest.fixture(scope="module")
def queued(jobs_env):
    return _app(jobs_env)


@pytest.fixture(scope="module")
def inline(jobs_env):
    return _app(jobs_env, "inline")


def test_the_modes(queued, inline):
    from webmap import jobs

    with queued.app_context():
        assert jobs.uses_queue()
    with inline.app_context():
        assert not jobs.uses_queue()


@pytest.mark.parametrize("path", [
    "/api/recommend?n=3&radius=1000",
    "/api/recommend?target_pct=60&radius=800&exact=1",
    "/recommend/download/sites.csv?n=2",
    "/recommend/download/sites.xlsx?n=2",
    "/api/recommend?n=9999",  # a refusal comes back as it is: 400 naming the parameter
])
def test_answers_are_those_of_the_endpoint(queued, inline, path):
    a, b = queued.test_client().get(path), inline.test_client().get(path)
    assert a.status_code == b.status_code
    assert a.mimetype == b.mimetype
    assert a.headers.get("Content-Disposition") == b.headers.get("Content-Disposition")
    if a.mimetype.endswith("json"):
        ja, jb = a.get_json(), b.get_json()
        for body in (ja, jb):
            body.pop("elapsed_s", None)
            for k in ("greedy_time_s", "exact_time_s", "swap_time_s"):
                body.pop(k, None)
        assert ja == jb
    elif ".csv?" in path:
        assert a.data == b.data
    else:
        assert a.data[:2] == b.data[:2] == b"PK" and abs(len(a.data) - len(b.data)) < 64


def test_the_work_happens_in_the_worker(queued, monkeypatch):
    """With this process unable to draw or to recommend, the answers still come: a worker made them."""
    from stations import cartography
    from stations import siting

    def refuse(*a, **k):
        raise AssertionError("heavy work in the web process")

    monkeypatch.setattr(cartography, "make_sheet", refuse)
    monkeypatch.setattr(siting, "recommend", refuse)
    client = queued.test_client()
    png = client.get("/print/sheet.png?area=530102&dpi=50")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG") and png.headers["X-Sheet-Scale"].startswith("1:")
    assert png.headers["Cache-Control"] == "no-store"
    rec = client.get("/api/recommend?n=2&radius=600")
    assert rec.status_code == 200 and len(rec.get_json()["features"]) == 2
    pdf = client.get("/print/sheet.pdf?area=530102&layers=outlines,stations")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and len(pdf.data) > 20_000
    assert "X-Content-Type-Options" in pdf.headers  # the web process's own headers are on the answer


def test_uploads_are_parsed_by_a_worker_and_found_everywhere(queued, inline, jobs_env):
    client = queued.test_client()
    cands = "名称,经度,纬度\n候选甲,102.70,25.03\n候选乙,102.74,25.06\n候选丙,102.66,25.08\n"
    up = client.post("/api/candidates", data={"file": (io.BytesIO(cands.encode()), "sites.csv")},
                     content_type="multipart/form-data")
    assert up.status_code == 201, up.get_json()
    cid = up.get_json()["id"]
    assert up.get_json()["count"] == 3
    assert list((Path(jobs_env["tmp"]) / "var" / "jobs" / "in").glob("*")) == []  # the upload's file is gone
    # the set is found by the web process (parameter check), by the workers (recommend) and by another app
    rec = client.get(f"/api/recommend?n=1&candidates={cid}")
    assert rec.status_code == 200 and rec.get_json()["candidates_count"] == 3
    assert inline.test_client().get(f"/api/recommend?n=1&candidates={cid}").get_json()["candidates_count"] == 3
    bad = client.post("/api/candidates", data={"file": (io.BytesIO("名称,经度,纬度\n甲,1,2\n".encode()),
                                                        "bad.csv")}, content_type="multipart/form-data")
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "file"
    assert "bad.csv" in bad.get_json()["error"]["message"] and "/jobs/in/" not in bad.get_json()["error"]["message"]
    # a demand file parsed by a worker; the coverage (in the web process) uses it
    dem = client.post("/api/coverage/demand", data={"file": (io.BytesIO(
        "lon,lat,weight\n102.7129,25.0406,40\n".encode()), "mine.csv")}, content_type="multipart/form-data")
    assert dem.status_code == 201, dem.get_json()
    token = dem.get_json()["demand"]
    cov = client.get(f"/api/coverage?demand={token}&by=province").get_json()
    assert cov["summary"]["workers"] == 40


def test_whatif_and_the_data_version(queued, jobs_env):
    """A station added to the registry after the worker loaded it: the web reloads, the worker follows."""
    from stations.registry import Registry

    client = queued.test_client()
    body = {"add": [[102.72, 25.05, "24小时"]], "radius": 1000}
    first = client.post("/api/whatif", json=body)
    assert first.status_code == 200 and first.get_json()["after"]["stations"] == first.get_json()["before"]["stations"] + 1
    row = fixture_stations().iloc[[0]].copy()
    row["id"] = "YN-T-NEW"
    row["name"] = "新驿站（示例）"
    Registry(jobs_env["db"]).upsert(row)
    queued.extensions["yizhan"].reload()
    again = client.post("/api/whatif", json={"close": ["YN-T-NEW"], "radius": 1000})
    assert again.status_code == 200, again.get_json()  # the worker knows the new station
    assert again.get_json()["close"] == ["YN-T-NEW"]


def test_the_waiting_cap_answers_503_and_the_finder_is_untouched(jobs_env):
    app = _app(jobs_env, JOBS_WAITING=1)
    client = app.test_client()
    assert client.get("/api/recommend?n=1").status_code == 200  # creates the semaphore
    slots = app.extensions["yizhan_jobs_waiting"]
    assert slots.acquire(blocking=False)  # another request is waiting for its job
    try:
        busy = client.get("/api/recommend?n=2")
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
        assert "忙" in busy.get_json()["error"]["message"]
        assert client.get("/api/nearest?lat=25.04&lon=102.71").status_code == 200
    finally:
        slots.release()


def test_no_worker_and_too_slow_answer_503(jobs_env, tmp_path):
    lonely = _app(jobs_env, JOBS_QUEUE_URL=f"sqlite:///{tmp_path / 'nobody.sqlite'}")
    resp = lonely.test_client().get("/print/sheet.png?area=530102&dpi=50&lang=en")
    assert resp.status_code == 503 and "worker" in resp.get_json()["error"]["message"]
    slow = _app(jobs_env, JOB_WAIT_SECONDS=0.001)
    resp = slow.test_client().get("/print/sheet.pdf?area=yunnan&lang=en")
    assert resp.status_code == 503 and "did not finish" in resp.get_json()["error"]["message"]


def test_the_atlas_is_a_job_seen_by_every_process_and_can_be_cancelled(jobs_env):
    first, second = _app(jobs_env), _app(jobs_env)  # two web processes' apps on one queue
    a, b = first.test_client(), second.test_client()
    query = "paper=A4&radius=900&layers=outlines,stations"
    started = a.get(f"/print/atlas.pdf?{query}")
    assert started.status_code == 202 and started.get_json()["state"] == "running"
    joined = b.get(f"/print/atlas.pdf?{query}")  # the other process joins the same job
    assert joined.status_code == 202 and joined.get_json()["state"] == "running"
    other = b.get("/print/atlas.pdf?paper=A4&radius=700")
    assert other.status_code == 409 and other.get_json()["busy"] is True
    progress = _wait(lambda: (s := b.get(f"/print/atlas/status?{query}").get_json())["pages_done"] >= 1 and s, 300)
    assert progress["state"] == "running" and progress["stage"] == "drawing" and progress["pages_total"] == 17
    cancelled = b.post(f"/print/atlas/cancel?{query}")
    assert cancelled.status_code == 200
    final = _wait(lambda: (s := a.get(f"/print/atlas/status?{query}").get_json())["state"] != "running" and s, 300)
    assert final["state"] == "cancelled" and final["pages_done"] < 17 and final["download_url"] is None
    assert not list((Path(jobs_env["tmp"]) / "var" / "print").glob("atlas-A4-*"))  # no partial file left
    # the paper size is free again
    again = a.get("/print/atlas.pdf?paper=A4&radius=700")
    assert again.status_code == 202
    a.post("/print/atlas/cancel?paper=A4&radius=700")
    _wait(lambda: a.get("/print/atlas/status?paper=A4&radius=700").get_json()["state"] != "running", 300)


def test_waitress_queue_depth_warnings_become_one_line_per_interval():
    import logging

    from webmap.serving import QueueDepthFilter

    logger = logging.getLogger("waitress.queue.test")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Keep()
    logger.addHandler(handler)
    logger.propagate = False
    f = QueueDepthFilter(interval=0.2)
    logger.addFilter(f)
    try:
        for depth in range(1, 401):  # what waitress logs: one warning per request that had to queue
            logger.warning("Task queue depth is %d", depth % 37)
        time.sleep(0.25)
        logger.warning("Task queue depth is %d", 3)
        logger.warning("something else")
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(f)
    depth_lines = [m for m in seen if "queue depth" in m]
    assert len(depth_lines) == 1, seen
    assert depth_lines[0].startswith("task queue depth: 401 requests waited") and "deepest queue 36" in depth_lines[0]
    assert "something else" in seen


def test_yizhan_serve_starts_the_worker_and_answers_heavy_requests(tmp_path, fixture_db_url):
    """`yizhan serve` (waitress + its worker child): a printed sheet comes from the worker; stopping the server
    stops the worker."""
    import http.client
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "YIZHAN_VAR_DIR": str(tmp_path), "DATABASE_URL": fixture_db_url, "YIZHAN_JOBS": "queue",
           "YIZHAN_QUEUE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite'}", "YIZHAN_TILES": "none", "YIZHAN_WORKERS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "webmap.cli", "serve", "--port", str(port), "--threads", "4"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        def get(path):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                return resp.status, resp.getheader("Content-Type"), resp.read()
            except OSError:
                return None
            finally:
                conn.close()

        _wait(lambda: get("/api/health"), 90)
        status, ctype, body = _wait(lambda: (r := get("/print/sheet.png?area=530102&dpi=50")) and r[0] != 503 and r, 120)
        assert status == 200 and ctype == "image/png" and body.startswith(b"\x89PNG")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    # the worker child went with it: nobody answers the queue any more
    from webmap import jobs

    time.sleep(4 * jobs.HEARTBEAT_S + 1)
    assert not jobs.consumer_alive(jobs.get_queue(env["YIZHAN_QUEUE_URL"]))


def test_several_waitress_processes_share_one_socket(tmp_path, fixture_db_url):
    """`yizhan serve --processes 2 --no-worker`: two web processes answer on one port; with no worker on the queue a
    heavy request is refused at once with 503 naming `yizhan worker`; SIGINT stops both."""
    import http.client
    import json
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "YIZHAN_VAR_DIR": str(tmp_path), "DATABASE_URL": fixture_db_url, "YIZHAN_JOBS": "queue",
           "YIZHAN_QUEUE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite'}", "YIZHAN_TILES": "none"}
    proc = subprocess.Popen([sys.executable, "-m", "webmap.cli", "serve", "--port", str(port), "--processes", "2",
                             "--threads", "2", "--no-worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)

    def get(path):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except OSError:
            return None
        finally:
            conn.close()

    try:
        _wait(lambda: get("/api/health"), 90)
        assert len(_wait(lambda: len(_children_of(proc.pid)) == 2 and _children_of(proc.pid), 60)) == 2
        for _ in range(20):
            status, body = get(f"/api/nearest?lat={KUNMING[1]}&lon={KUNMING[0]}&k=3")
            assert status == 200 and len(json.loads(body)["features"]) == 3
        status, body = get("/print/sheet.png?area=530102&lang=en")
        assert status == 503 and "yizhan worker" in json.loads(body)["error"]["message"]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode is not None


def _ppid(proc_dir: Path) -> int | None:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _children_of(pid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == pid]
