"""Opening-hours benchmark (issue 11). Prints its figures.

200,000 stations (the national count is about 186,000) whose ``hours_json`` mixes the forms of the demo set
with the forms issue 11 added (holiday clauses, 工作日, lunch breaks, seasons, part-of-day words), each
with varied clock times: about 2,000 distinct values, far more than a real registry has. Side by side, in
one run, best of ``--repeat``:

* **open_mask** (:func:`stations.hours.open_mask`) at an ordinary Thursday 10:00, on 国庆节 (2025-10-01)
  and on a make-up Saturday (2025-10-11): the date now matters (seasons, holidays), so it is measured on
  each kind of day;
* baselines in the same run: ``pandas.factorize`` of the column alone (the floor: hashing every string
  once), a plain per-row loop (``OpeningHours.from_json`` cached, then ``is_open`` for every row: what the
  vectorised helper avoids), and the previous module's ``open_mask`` (``stations/hours.py`` at commit
  bf17046, taken from git; skipped when git or that commit is not at hand) on the same rows written as its
  version-1 JSON;
* **HoursColumn**: the column read once (as an index keeps it), then ``open_mask`` on it for the same three
  moments: what each further question costs;
* **open_24_7_mask**, **open_at_mask** ("22:00") and **unknown_mask** on the same column;
* **refresh_hours_column** (what ``Registry.load()`` now does to every row) on rows stored by the old parser,
  beside ``to_geodataframe`` of the same rows (the rest of ``load()`` after the SQL query).

Usage::

    python bench/bench_hours.py [--n 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OLD_COMMIT = "bf17046"

TEMPLATES = [
    "{a}:00-{b}:00", "周一至周五 {a}:00-{b}:00", "周一至周日 {a}:30-{b}:30", "24小时", "Mo-Fr {a:02d}:00-{b:02d}:00",
    "周一至周五 {a}:00-{b}:00；周六 {a}:30-16:00", "{a}:00-{b}:00，法定节假日休息", "工作日 {a}:00-{b}:00",
    "{a}:00-{b}:00 午休12:00-13:30", "周一至周五 {a}:00-{b}:00（周三除外）", "下午2:30-5:30",
    "夏季(5月-9月) {a}:00-{b}:00 冬季(10月-4月) {a}:30-{c}:00", "Mo-Fr {a:02d}:00-12:00,13:30-{b:02d}:00; PH off",
    "每天 {d}:00-02:00", "{a}:00-{b}:00（周六周日休息）", "工作日 {a}:00-{b}:00，周末 10:00-14:00",
]


def make_texts(n: int, seed: int = 11) -> list[str]:
    rng = np.random.default_rng(seed)
    t = rng.integers(0, len(TEMPLATES), n)
    a = rng.integers(6, 11, n)
    b = rng.integers(17, 23, n)
    c = rng.integers(17, 19, n)
    d = rng.integers(18, 23, n)
    return [TEMPLATES[i].format(a=int(x), b=int(y), c=int(z), d=int(w)) for i, x, y, z, w in zip(t, a, b, c, d)]


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def old_module():
    """The previous stations/hours.py (before issue 11), loaded from git under another name."""
    try:
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:stations/hours.py"],
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp(prefix="bench-hours-")) / "hours_v1.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("hours_v1", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["hours_v1"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    from stations.hours import (HoursColumn, OpeningHours, open_24_7_mask, open_at_mask, open_mask, parse_hours,
                                refresh_hours_column, unknown_mask)
    from stations.registry import to_geodataframe

    texts = make_texts(args.n)
    distinct = sorted(set(texts))
    js_of = {t: parse_hours(t).to_json() for t in distinct}
    column = pd.Series([js_of[t] for t in texts])
    print(f"{args.n:,} stations, {len(distinct):,} distinct opening hours, best of {args.repeat}")

    whens = {"Thursday 2025-10-09 10:00": datetime(2025, 10, 9, 10),
             "国庆节 2025-10-01 10:00": datetime(2025, 10, 1, 10),
             "make-up Saturday 2025-10-11 10:00": datetime(2025, 10, 11, 10)}
    open_mask(column[:100], datetime(2025, 10, 9, 10))  # imports, caches

    t_fact, _ = best(lambda: pd.factorize(column.to_numpy(dtype=object)), args.repeat)
    print(f"\nbaseline  pandas.factorize alone (the floor)           {t_fact * 1000:8.1f} ms")

    cache: dict[str, OpeningHours] = {}

    def per_row(at):
        out = np.zeros(len(column), dtype=bool)
        for i, v in enumerate(column.tolist()):
            oh = cache.get(v)
            if oh is None:
                oh = cache[v] = OpeningHours.from_json(v)
            out[i] = oh.is_open(at)
        return out

    at0 = whens["Thursday 2025-10-09 10:00"]
    t_row, row_mask = best(lambda: per_row(at0), max(1, args.repeat // 2))
    print(f"baseline  per-row loop (cached parse, is_open per row) {t_row * 1000:8.1f} ms")

    old = old_module()
    if old is not None:
        old_col = pd.Series([old.parse_hours(t).to_json() if _old_reads(old, t) else "" for t in texts])
        old.open_mask(old_col[:100], at0)
        t_old, _ = best(lambda: old.open_mask(old_col, at0, errors="closed"), args.repeat)
        unread = int((old_col == "").sum())
        print(f"baseline  previous open_mask (commit {OLD_COMMIT}, no calendar) {t_old * 1000:5.1f} ms"
              f"   ({unread:,} rows it could not read)")
    else:
        t_old = None
        print(f"baseline  previous open_mask: not measured (git or commit {OLD_COMMIT} not available)")

    print()
    for label, when in whens.items():
        t, mask = best(lambda: open_mask(column, when), args.repeat)
        ratio = f"  {t / t_fact:4.1f}x factorize, {t_row / t:5.1f}x faster than per-row"
        if t_old is not None:
            ratio += f", {t / t_old:4.2f}x previous"
        print(f"open_mask       {label:34s} {t * 1000:7.1f} ms  open {int(mask.sum()):7,}{ratio}")
        if label.startswith("Thursday"):
            assert (mask == row_mask).all(), "open_mask and the per-row loop disagree"

    t_build, prepared = best(lambda: HoursColumn(column), args.repeat)
    print(f"\nHoursColumn(column) once (factorize + read each distinct value) {t_build * 1000:7.1f} ms")
    for label, when in whens.items():
        t, mask = best(lambda: open_mask(prepared, when), args.repeat)
        print(f"open_mask on it  {label:33s} {t * 1000:7.1f} ms  open {int(mask.sum()):7,}"
              f"  {t_fact / t:6.0f}x less than factorize alone")
    print()

    t, m = best(lambda: open_24_7_mask(column), args.repeat)
    print(f"open_24_7_mask  {'':34s} {t * 1000:7.1f} ms  24/7 {int(m.sum()):7,}  {t / t_fact:4.1f}x factorize")
    t, m = best(lambda: open_at_mask(column, "22:00", now=datetime(2025, 10, 9, 20)), args.repeat)
    print(f"open_at_mask    {'22:00 from Thursday 20:00':34s} {t * 1000:7.1f} ms  open {int(m.sum()):7,}"
          f"  {t / t_fact:4.1f}x factorize")
    t, m = best(lambda: unknown_mask(column), args.repeat)
    print(f"unknown_mask    {'':34s} {t * 1000:7.1f} ms  unknown {int(m.sum()):4,}  {t / t_fact:4.1f}x factorize")

    # Registry.load(): rows stored by the old parser are read again
    if old is not None:
        frame = _frame(texts, old_col)
        refresh_hours_column(frame["opening_hours"][:100], frame["hours_json"][:100])
        t_ref, _ = best(lambda: refresh_hours_column(frame["opening_hours"], frame["hours_json"]), args.repeat)
        t_gdf, _ = best(lambda: to_geodataframe(frame), args.repeat)
        print(f"\nrefresh_hours_column (rows stored by the old parser)  {t_ref * 1000:7.1f} ms"
              f"   beside to_geodataframe of the same rows {t_gdf * 1000:7.1f} ms ({t_ref / t_gdf:4.2f}x)")


def _old_reads(old, text: str) -> bool:
    try:
        old.parse_hours(text)
        return True
    except Exception:  # noqa: BLE001 - the old parser refuses forms issue 11 added
        return False


def _frame(texts, hours_json) -> pd.DataFrame:
    from stations.schema import COLUMNS, SERVICE_KEYS

    n = len(texts)
    rng = np.random.default_rng(3)
    data = {c: [""] * n for c in COLUMNS}
    data.update({"id": [f"S{i:06d}" for i in range(n)], "lon": rng.uniform(97.5, 106.2, n),
                 "lat": rng.uniform(21.1, 29.2, n), "opening_hours": list(texts), "hours_json": list(hours_json),
                 "status": ["open"] * n, "host": ["union"] * n})
    for k in SERVICE_KEYS:
        data[k] = [True] * n
    return pd.DataFrame(data)


if __name__ == "__main__":
    main()
