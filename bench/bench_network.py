"""Walking-network benchmark (issue 13). Prints its figures, each beside a baseline measured in the same run.

Everything here runs on SYNTHETIC street grids written by the benchmark itself
(``stations.network.synthetic.write_grid_extract``: jittered grids of 80 m blocks, 8 % of segments missing,
a motorway through each town; labelled ``yizhan-synthetic`` in the file header). They are not real streets.

1. **City** (one grid of 460 x 460 = 211,600 nodes at Kunming, about 37 km across):

   * ``network build`` of its ``.osm.pbf`` in a child process: wall time and the child's peak RSS;
   * coverage of 20,000 demand points by 3,676 stations (random in the town) within 1,125 m: straight-line
     :func:`stations.coverage.compute_coverage` (baseline) vs :func:`stations.network.network_coverage`
     (snapping both sides, one multi-source Dijkstra), cold (first call builds the snapping index) and warm;
   * the finder's per-request cost over 300 random users: straight-line ``NearestIndex.query`` k=15 (baseline)
     vs the same plus :func:`stations.network.rank_by_walk` (walks to the 15 candidates) plus the route to the
     nearest walk (:meth:`WalkNetwork.route`): median and 95th percentile.

2. **Province** (``--skip-province`` to leave out): 16 grid towns at the 16 prefecture seats, Kunming
   1,100 x 1,100 nodes and 15 towns of 520 x 520, 5.27 million nodes in all (a generous stand-in for
   Yunnan's walkable OSM network; see docs/network.md). The extract is written, then built in a child process
   (time, peak RSS), loaded, and 3,676 stations and 73,000 demand points (split among the towns by size)
   are covered on foot and in a straight line in the same run.

Usage::

    python bench/bench_network.py [--skip-province] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KUNMING = (102.7129, 25.0406)
SPACING = 80.0
N_STATIONS = 3676
DISTANCE = 1125.0
SEED = 20261202


def _child_build(extract: Path, var: Path) -> dict:
    """Build in a fresh interpreter: wall time and that process's peak RSS (VmHWM)."""
    code = f"""
import json, os, sys, time
sys.path.insert(0, {str(ROOT)!r})
os.environ['YIZHAN_VAR_DIR'] = {str(var)!r}
def kb(f):
    for line in open('/proc/self/status'):
        if line.startswith(f + ':'):
            return int(line.split()[1])
import numpy, scipy.sparse, osmium, pyproj, shapely, geopandas
from stations.network import build_network
before = kb('VmRSS')
t = time.perf_counter()
res = build_network({str(extract)!r}, force=True)
dt = time.perf_counter() - t
print(json.dumps({{'seconds': dt, 'peak_mb': kb('VmHWM') / 1024, 'before_mb': before / 1024,
                  'nodes': res.manifest['nodes'], 'edges': res.manifest['edges'],
                  'npz_mb': res.path.stat().st_size / 2**20}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _timed(fn, repeat=1):
    best = None
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return out, best


def _frames(lon, lat, prefix="S", workers=None):
    import geopandas as gpd
    import pandas as pd

    cols = {"lon": lon, "lat": lat}
    if workers is None:
        cols.update(id=[f"{prefix}{i}" for i in range(len(lon))], status="open")
    else:
        cols.update(workers=workers, county_adcode=None)
    return gpd.GeoDataFrame(pd.DataFrame(cols), geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _points_in_town(rng, town, n):
    from pyproj import Transformer

    lon0, lat0, nx, ny = town
    tr = Transformer.from_crs(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m", "EPSG:4326",
                              always_xy=True)
    x = rng.uniform(-nx / 2 * SPACING, (nx / 2 - 1) * SPACING, n)
    y = rng.uniform(-ny / 2 * SPACING, (ny / 2 - 1) * SPACING, n)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def coverage_run(net, towns, n_demand, label):
    from stations import coverage as C
    from stations.network import network_coverage

    rng = np.random.default_rng(SEED)
    sizes = np.array([nx * ny for _, _, nx, ny in towns], float)
    st_n = np.round(N_STATIONS * sizes / sizes.sum()).astype(int)
    st_n[0] += N_STATIONS - st_n.sum()
    dm_n = np.round(n_demand * sizes / sizes.sum()).astype(int)
    dm_n[0] += n_demand - dm_n.sum()
    slon, slat, dlon, dlat = [], [], [], []
    for town, ns, nd in zip(towns, st_n, dm_n):
        a, b = _points_in_town(rng, town, ns)
        slon.append(a); slat.append(b)
        a, b = _points_in_town(rng, town, nd)
        dlon.append(a); dlat.append(b)
    stations = _frames(np.concatenate(slon), np.concatenate(slat))
    demand = _frames(np.concatenate(dlon), np.concatenate(dlat), workers=np.ones(n_demand))
    straight, t_straight = _timed(lambda: C.compute_coverage(stations, demand, radius=DISTANCE), repeat=3)
    res, t_cold = _timed(lambda: network_coverage(net, stations, demand, distance=DISTANCE))
    res, t_warm = _timed(lambda: network_coverage(net, stations, demand, distance=DISTANCE), repeat=2)
    print(f"  [{label}] coverage of {n_demand:,} points by {N_STATIONS:,} stations within {DISTANCE:,.0f} m:")
    print(f"    straight line (baseline) {t_straight:6.2f} s   covered {straight.covered_pct:5.1f}%")
    print(f"    on the network, cold     {t_cold:6.2f} s   (first call builds the snapping index)")
    print(f"    on the network, warm     {t_warm:6.2f} s   covered {res.covered_pct:5.1f}%  "
          f"= {t_warm / t_straight:.1f} x the straight-line time; {res.covered_pct_straight - res.covered_pct:.1f} "
          f"points overstated by straight lines; {len(res.unreachable):,} points cannot reach the network")
    return stations


def finder_run(net, stations, town, n_users=300):
    from stations.nearest import NearestIndex
    from stations.network import rank_by_walk

    rng = np.random.default_rng(SEED + 1)
    lon, lat = _points_in_town(rng, town, n_users)
    idx = NearestIndex(stations)
    t_base, t_walk, t_route, detours, exact = [], [], [], [], 0
    slon, slat = stations["lon"].to_numpy(), stations["lat"].to_numpy()
    for i in range(n_users):
        t = time.perf_counter()
        hits = idx.query(lon[i], lat[i], k=15)
        t_base.append(time.perf_counter() - t)
        pos = np.array([h.position for h in hits])
        straight = np.array([h.distance_m for h in hits])
        t = time.perf_counter()
        hits = idx.query(lon[i], lat[i], k=15)
        rk = rank_by_walk(net, lon[i], lat[i], slon[pos], slat[pos], straight, k=5)
        t_walk.append(time.perf_counter() - t)
        exact += rk.exact
        best = pos[rk.order[0]]
        t = time.perf_counter()
        r = net.route(lon[i], lat[i], slon[best], slat[best])
        t_route.append(time.perf_counter() - t)
        if r is not None:
            detours.append(r.detour)
    ms = lambda v: (1000 * np.median(v), 1000 * np.percentile(v, 95))  # noqa: E731
    print(f"  finder, {n_users} users, 15 straight-line candidates, 5 shown:")
    print(f"    straight-line nearest (baseline)      median {ms(t_base)[0]:6.2f} ms  p95 {ms(t_base)[1]:6.2f} ms")
    print(f"    + walking distances to the candidates median {ms(t_walk)[0]:6.2f} ms  p95 {ms(t_walk)[1]:6.2f} ms  "
          f"(ranking exact for {exact}/{n_users})")
    print(f"    route to the nearest walk             median {ms(t_route)[0]:6.2f} ms  p95 {ms(t_route)[1]:6.2f} ms  "
          f"(median detour {np.median(detours):.2f} x the straight line)")


def section(name, towns, work: Path, n_demand: int, finder: bool):
    from stations.network import clear_cache, load_network
    from stations.network.synthetic import write_grid_extract

    extract = work / f"{name}.osm.pbf"
    _, t_write = _timed(lambda: write_grid_extract(extract, towns, spacing_m=SPACING, seed=SEED))
    print(f"== {name}: SYNTHETIC grid extract, {sum(nx * ny for *_, nx, ny in towns):,} street nodes in {len(towns)} "
          f"town(s); {extract.stat().st_size / 2**20:.1f} MB .osm.pbf written in {t_write:.1f} s", flush=True)
    var = work / f"var-{name}"
    b = _child_build(extract, var)
    print(f"  network build: {b['seconds']:.1f} s, peak RSS {b['peak_mb']:,.0f} MB (interpreter with libraries "
          f"{b['before_mb']:,.0f} MB before the build); {b['nodes']:,} nodes, {b['edges']:,} edges, "
          f"stored {b['npz_mb']:.1f} MB", flush=True)
    os.environ["YIZHAN_VAR_DIR"] = str(var)
    clear_cache()
    net, t_load = _timed(load_network)
    print(f"  load_network: {t_load:.2f} s ({net})", flush=True)
    stations = coverage_run(net, towns, n_demand, name)
    if finder:
        finder_run(net, stations, towns[0])
    return net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-province", action="store_true")
    ap.add_argument("--keep", default=None, help="keep the synthetic extracts and networks in this folder")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-network-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        section("city", [(KUNMING[0], KUNMING[1], 460, 460)], work, 20_000, finder=True)
        if not args.skip_province:
            from stations import geo

            pref = geo.load_prefectures()
            pts = pref.geometry.representative_point()
            seats = [(float(p.x), float(p.y)) for a, p in zip(pref["adcode"], pts) if a != "530100"]
            towns = [(KUNMING[0], KUNMING[1], 1100, 1100)] + [(x, y, 520, 520) for x, y in seats]
            section("province", towns, work, 73_000, finder=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
