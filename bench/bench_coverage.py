"""Coverage benchmarks (issue 4). Prints its figures.

1. **Yunnan at default settings**, the whole computation from the registry to the tables: registry load,
   demand grid (the ``var/`` cache), coverage at 1,000 m, the county and province tables. Target < 2 s.
2. **National scale**: a synthetic registry of 186,000 stations around 2,850 synthetic county centres in
   eastern and central China, with demand proportional to the stations (20 demand points per station,
   3.72 million points, 84 million workers). Side by side in the same run:

   * *naive*: buffer every station (shapely default, 8 segments per quarter circle) in a national Albers
     projection, ``shapely.union_all`` them, then test every demand point against the union;
   * *ours, planar*: the same projection, a k-d tree over the stations and a bounded nearest search --
     the same question, so the covered-demand figure must agree (up to the buffers' polygonal
     approximation of the circle);
   * *ours, geodesic*: the library path (:func:`stations.coverage.covered_mask`, ECEF chord = ground
     distance) on WGS-84 lon/lat, free of the national projection's scale error, and
     :func:`stations.coverage.nearest_station` (exact geodesic distance to the nearest station for every
     point, as the tables need).

   Each method runs in a fresh child process that rebuilds the data deterministically and resets its
   peak-RSS counter (``/proc/self/clear_refs``) before the method, so "peak" is the method's own high-water
   mark; the increment over the resident size before the method is printed too.

Usage::

    python bench/bench_coverage.py [--skip-national] [--naive-fraction 1.0] [--database-url URL]

``--naive-fraction`` below 1 runs the naive method on that share of the stations and extrapolates
(said so in the output); by default it runs on all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_STATIONS = 186_000
N_CENTRES = 2_850
DEMAND_PER_STATION = 20
NATIONAL_WORKERS = 84_000_000
RADIUS = 1000.0
SEED = 20261129
ALBERS_CHINA = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m +no_defs"


# ------------------------------------------------------------------------------------------- memory


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ------------------------------------------------------------------------------------------- Yunnan


def _registry_url(given: str | None) -> str:
    from stations import config
    from stations.registry import Registry

    url = given or config.database_url()
    try:
        if Registry(url).count() > 0:
            return url
    except Exception:
        pass
    # an empty registry: load the deterministic demo set into a temporary one
    from stations.demo import load_demo, write_demo_csv

    tmp = Path(tempfile.gettempdir()) / "yizhan-bench"  # honours TMPDIR
    tmp.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    reg = Registry(url)
    if reg.count() != 3676:
        csv = write_demo_csv(tmp / "stations_demo.csv")
        load_demo(reg, csv)
    return url


def bench_yunnan(url: str | None, repeats: int = 3) -> dict:
    from stations import coverage as C
    from stations import demand as D
    from stations.registry import Registry

    url = _registry_url(url)
    D.load_demand()  # make sure the var/ cache exists (built once per input change)
    runs = []
    for i in range(repeats):
        D._MEMO.clear()  # the app keeps it in memory; here each run reads the cache file again
        C.Geography.load().forget("county_equal_area")  # the equal-area counties are rebuilt each run
        t0 = time.perf_counter()
        stations = Registry(url).load()
        t1 = time.perf_counter()
        demand = D.load_demand()
        t2 = time.perf_counter()
        geo = C.Geography.load()
        t3 = time.perf_counter()
        res = C.compute_coverage(stations, demand, RADIUS)
        t4 = time.perf_counter()
        county = C.coverage_table(res, "county", geo)
        prov = C.coverage_table(res, "province", geo)
        t5 = time.perf_counter()
        runs.append({"registry": t1 - t0, "demand": t2 - t1, "geography": t3 - t2, "coverage": t4 - t3,
                     "tables": t5 - t4, "total": t5 - t0})
    night = C.compute_coverage(stations, demand, RADIUS, hour=22)
    t6 = time.perf_counter()
    gaps = C.find_gaps(res)
    t7 = time.perf_counter()
    p = prov.iloc[0]
    return {
        "stations": len(stations),
        "active": len(res.stations),
        "demand_cells": len(demand),
        "workers": float(p["workers"]),
        "covered_pct": float(p["covered_pct"]),
        "covered_pct_22h": night.covered_pct,
        "median_m": float(p["median_distance_m"]),
        "p90_m": float(p["p90_distance_m"]),
        "area_covered_km2": float(p["area_covered_km2"]),
        "gaps": len(gaps),
        "gaps_s": t7 - t6,
        "runs": runs,
        "counties": len(county),
    }


# ------------------------------------------------------------------------------------------- national


def national_data(seed: int = SEED):
    """Deterministic synthetic national registry and proportional demand, as lon/lat arrays."""
    rng = np.random.default_rng(seed)
    # county centres in eastern and central China (a synthetic stand-in, not real places)
    c_lon = rng.uniform(98.0, 122.0, N_CENTRES)
    c_lat = rng.uniform(21.0, 42.0, N_CENTRES)
    size = rng.lognormal(0.0, 1.0, N_CENTRES)
    share = size / size.sum()
    n_st = np.floor(share * N_STATIONS).astype(int)
    rest = N_STATIONS - n_st.sum()
    n_st[np.argsort(-(share * N_STATIONS - n_st))[:rest]] += 1
    spread = 1500.0 + 2500.0 * np.sqrt(size)  # metres: bigger towns sprawl more

    def scatter(counts, sigma_scale):
        idx = np.repeat(np.arange(N_CENTRES), counts)
        r = rng.normal(0.0, 1.0, (len(idx), 2)) * (spread[idx] * sigma_scale)[:, None]
        lat = c_lat[idx] + r[:, 1] / 111_320.0
        lon = c_lon[idx] + r[:, 0] / (111_320.0 * np.cos(np.radians(c_lat[idx])))
        return lon, lat

    s_lon, s_lat = scatter(n_st, 1.0)
    d_lon, d_lat = scatter(n_st * DEMAND_PER_STATION, 1.6)
    w = rng.lognormal(0.0, 0.7, len(d_lon))
    w *= NATIONAL_WORKERS / w.sum()
    return s_lon, s_lat, d_lon, d_lat, w


def _project(lon, lat):
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", ALBERS_CHINA, always_xy=True).transform(lon, lat)
    return np.asarray(x), np.asarray(y)


def method_naive(s_lon, s_lat, d_lon, d_lat, w, fraction: float = 1.0):
    import shapely

    sx, sy = _project(s_lon, s_lat)
    dx, dy = _project(d_lon, d_lat)
    if fraction < 1.0:
        k = int(len(sx) * fraction)
        sx, sy = sx[:k], sy[:k]
    t0 = time.perf_counter()
    bufs = shapely.buffer(shapely.points(sx, sy), RADIUS)
    t1 = time.perf_counter()
    union = shapely.union_all(bufs)
    t2 = time.perf_counter()
    shapely.prepare(union)
    inside = shapely.contains_xy(union, dx, dy)
    t3 = time.perf_counter()
    return {"covered_workers": float(w[inside].sum()), "covered_points": int(inside.sum()),
            "buffer_s": t1 - t0, "union_s": t2 - t1, "intersect_s": t3 - t2, "time_s": t3 - t0}


def method_planar(s_lon, s_lat, d_lon, d_lat, w, fraction: float = 1.0):
    from scipy.spatial import cKDTree

    sx, sy = _project(s_lon, s_lat)
    dx, dy = _project(d_lon, d_lat)
    t0 = time.perf_counter()
    tree = cKDTree(np.column_stack([sx, sy]))
    d, _ = tree.query(np.column_stack([dx, dy]), k=1, distance_upper_bound=RADIUS, workers=-1)
    inside = np.isfinite(d)
    t1 = time.perf_counter()
    # points inside the true circle but outside shapely's default buffer polygon (a 32-gon whose edges sag
    # to r*cos(pi/32) between vertices) -- the only ones the naive method can miss
    sag = int(((d > RADIUS * np.cos(np.pi / 32)) & inside).sum())
    return {"covered_workers": float(w[inside].sum()), "covered_points": int(inside.sum()), "time_s": t1 - t0,
            "points_in_sag_band": sag}


def method_geodesic(s_lon, s_lat, d_lon, d_lat, w, fraction: float = 1.0):
    from stations import coverage as C

    t0 = time.perf_counter()
    inside = C.covered_mask(d_lon, d_lat, s_lon, s_lat, RADIUS)
    t1 = time.perf_counter()
    return {"covered_workers": float(w[inside].sum()), "covered_points": int(inside.sum()), "time_s": t1 - t0}


def method_nearest(s_lon, s_lat, d_lon, d_lat, w, fraction: float = 1.0):
    from stations import coverage as C

    t0 = time.perf_counter()
    dist, _ = C.nearest_station(d_lon, d_lat, s_lon, s_lat)
    inside = dist <= RADIUS
    t1 = time.perf_counter()
    return {"covered_workers": float(w[inside].sum()), "covered_points": int(inside.sum()), "time_s": t1 - t0}


METHODS = {"naive": method_naive, "planar": method_planar, "geodesic": method_geodesic, "nearest": method_nearest}


def child(method: str, fraction: float) -> None:
    data = national_data()
    import shapely  # noqa: F401  (imports outside the measured section)
    from scipy.spatial import cKDTree  # noqa: F401

    import stations.coverage  # noqa: F401

    _project(data[0][:10], data[1][:10])
    before = _rss_kb("VmRSS")
    reset = _reset_peak()
    out = METHODS[method](*data, fraction=fraction)
    out["peak_rss_mb"] = _rss_kb("VmHWM") / 1024 if reset else float("nan")
    out["rss_before_mb"] = before / 1024
    out["peak_increment_mb"] = out["peak_rss_mb"] - out["rss_before_mb"]
    out["peak_reset"] = reset
    print(json.dumps(out))


def run_child(method: str, fraction: float = 1.0) -> dict:
    cmd = [sys.executable, __file__, "--child", method, "--naive-fraction", str(fraction)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", choices=list(METHODS))
    ap.add_argument("--naive-fraction", type=float, default=1.0)
    ap.add_argument("--skip-national", action="store_true")
    ap.add_argument("--skip-yunnan", action="store_true")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.naive_fraction)
        return

    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    if not args.skip_yunnan:
        y = bench_yunnan(args.database_url)
        print("\n== Yunnan, default settings (radius 1,000 m, all day), registry -> county + province tables ==")
        print(f"stations {y['stations']:,} ({y['active']:,} open), demand cells {y['demand_cells']:,}, "
              f"workers {y['workers']:,.0f}")
        print(f"covered {y['covered_pct']:.1f}% (at 22:00: {y['covered_pct_22h']:.1f}%), median distance "
              f"{y['median_m']:.0f} m, p90 {y['p90_m']:.0f} m, area covered {y['area_covered_km2']:,.0f} km²")
        for i, r in enumerate(y["runs"]):
            parts = ", ".join(f"{k} {v:.3f}" for k, v in r.items() if k != "total")
            print(f"run {i + 1}: total {r['total']:.3f} s ({parts})")
        best = min(r["total"] for r in y["runs"])
        print(f"best {best:.3f} s -- target < 2 s: {'PASS' if best < 2 else 'FAIL'}; gaps ({y['gaps']}) "
              f"{y['gaps_s']:.2f} s extra")

    if args.skip_national:
        return
    print(f"\n== National scale: {N_STATIONS:,} synthetic stations, {N_STATIONS * DEMAND_PER_STATION:,} demand "
          f"points ({NATIONAL_WORKERS:,} workers), radius {RADIUS:.0f} m ==")
    res = {}
    for m in ("geodesic", "nearest", "planar"):
        res[m] = run_child(m)
        print(f"ours ({m:8s}): {res[m]['time_s']:7.2f} s, covered {res[m]['covered_workers']:,.0f} workers, "
              f"peak RSS {res[m]['peak_rss_mb']:.0f} MB (+{res[m]['peak_increment_mb']:.0f} MB)", flush=True)
    frac = args.naive_fraction
    naive = run_child("naive", frac)
    scale = 1.0 / frac if frac < 1 else 1.0
    note = f" (run on {frac:.0%} of the stations and extrapolated x{scale:g} -- NOT the full run)" if frac < 1 else ""
    print(f"naive (buffer+union_all+contains): {naive['time_s']:7.2f} s{note} "
          f"(buffer {naive['buffer_s']:.2f}, union_all {naive['union_s']:.2f}, intersect {naive['intersect_s']:.2f}), "
          f"covered {naive['covered_workers']:,.0f} workers, peak RSS {naive['peak_rss_mb']:.0f} MB "
          f"(+{naive['peak_increment_mb']:.0f} MB)")
    naive_time = naive["time_s"] * scale
    if frac >= 1:
        dw = res["planar"]["covered_workers"] - naive["covered_workers"]
        dp = res["planar"]["covered_points"] - naive["covered_points"]
        band = res["planar"]["points_in_sag_band"]
        print(f"same question, same projection: ours {res['planar']['covered_workers']:,.0f} vs naive "
              f"{naive['covered_workers']:,.0f} workers ({abs(dw) / naive['covered_workers']:.3%} apart): ours covers "
              f"{dp:,} more points; {band:,} points lie between {RADIUS * np.cos(np.pi / 32):.1f} and {RADIUS:.0f} m "
              f"of a station, inside the circle but possibly outside the 32-gon buffers -- "
              f"{'consistent' if 0 <= dp <= band else 'NOT consistent'}")
        dg = res["geodesic"]["covered_workers"] - res["planar"]["covered_workers"]
        print(f"geodesic vs national-projection planar: {dg:+,.0f} workers ({dg / naive['covered_workers']:+.3%}) "
              f"-- the Albers projection's scale error, which the geodesic path does not have")
    for m in ("geodesic", "nearest", "planar"):
        ratio = naive_time / res[m]["time_s"]
        print(f"speed-up vs naive, ours ({m}): {ratio:.1f}x -- target >= 10x: {'PASS' if ratio >= 10 else 'FAIL'}")
    print(f"peak memory: ours (geodesic) {res['geodesic']['peak_rss_mb']:.0f} MB, ours (nearest) "
          f"{res['nearest']['peak_rss_mb']:.0f} MB, naive {naive['peak_rss_mb']:.0f} MB "
          f"(each includes the ~{naive['rss_before_mb']:.0f} MB of data and libraries held before the method)")


if __name__ == "__main__":
    main()
