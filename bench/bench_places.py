"""Benchmark: place search (``stations.places.search``) through its sorted-key index, beside a linear scan of
the same keys measured in the same run (the baseline: what a search without the index would cost), and the
``/api/places`` request through the Flask test client.

    .venv/bin/python bench/bench_places.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = ["昆明", "kunming", "km", "版纳", "大理", "dali", "古城", "丽江", "建水", "k", "d", "x", "z", "m", "xsbn", "腾越"]


def _scan(idx, key: str) -> int:
    """The baseline: every key compared (what the index avoids)."""
    return sum(1 for k in idx.keys if k.startswith(key))


def _time(fn, rounds: int) -> tuple[float, float]:
    runs = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(runs), max(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    from stations import geo
    from stations.places import _index, _normalise_query, search

    geo.clear_cache()
    t0 = time.perf_counter()
    idx = _index()
    build_ms = (time.perf_counter() - t0) * 1000
    print(f"index: {len(idx.entries)} places, {len(idx.keys)} keys, built in {build_ms:.0f} ms (once per geography)")

    print(f"{'query':>10} {'index µs (median)':>18} {'scan of keys µs':>16} {'answers':>8}")
    med_i, med_s = [], []
    for q in QUERIES:
        key = _normalise_query(q)
        mi, _ = _time(lambda: search(q, limit=8), args.rounds)
        ms, _ = _time(lambda: _scan(idx, key), args.rounds)
        med_i.append(mi)
        med_s.append(ms)
        print(f"{q:>10} {mi:18.1f} {ms:16.1f} {len(search(q, limit=8)):8d}")
    print(f"{'all':>10} {statistics.median(med_i):18.1f} {statistics.median(med_s):16.1f}   (median of the medians)")

    from webmap import create_app

    app = create_app({"TESTING": True})
    client = app.test_client()
    for q in ("大理", "k"):
        client.get("/api/places", query_string={"q": q, "lang": "zh"})
        mh, worst = _time(lambda: client.get("/api/places", query_string={"q": q, "limit": 8, "lang": "zh"}), max(20, args.rounds // 4))
        print(f"/api/places?q={q}: median {mh / 1000:.2f} ms, worst {worst / 1000:.2f} ms (Flask test client, whole request)")


if __name__ == "__main__":
    main()
