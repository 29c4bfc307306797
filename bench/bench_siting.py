"""Siting benchmark (issue 5). Prints its figures.

Yunnan, the bundled demand model (72,574 H3 cells, 1,000,000 workers), the registry's stations (the synthetic
demo set when the registry is empty), radius 1,000 m, all day, default candidates (the centres of the
demand cells in towns). For N = 50, 200 and 500, side by side in one run:

* **greedy, lazy (CELF)**: :meth:`stations.siting.MaxCover.solve_greedy` -- time (best of ``--repeat``) and
  objective (workers newly covered), with its gain evaluations;
* **greedy, naive**: :meth:`~stations.siting.MaxCover.solve_greedy_naive` -- every gain recomputed at every
  step (a sparse matrix-vector product per step) on the same instance; same sites expected;
* **greedy + swaps** (the default answer): :meth:`~stations.siting.MaxCover.solve_greedy_swap` -- the lazy
  greedy then the swap local search (:mod:`stations.siting.swap`), time (greedy included, best of
  ``--repeat``; the first run also builds the search space) and objective, with its 1-for-1 swaps and
  2-for-2 exchanges;
* **exact**: :meth:`~stations.siting.MaxCover.solve_exact` -- the MCLP integer program with HiGHS on the
  reduced instance, warm-started with the greedy (not with the swaps, so its time is the one the planner
  knew), within ``--time-limit`` seconds (default 600 = 10 min); when it does not finish, the incumbent
  and HiGHS' dual bound are printed and it is said so. Then the share of the optimum each heuristic
  reaches and how many times faster than the exact solve greedy + swaps is;
* **set cover**: for each target in ``--targets`` (default 78, 80, 85 %), the fewest new sites by the greedy
  and by the set-covering integer program (:meth:`~stations.siting.MaxCover.solve_set_cover_exact`, HiGHS,
  warm-started with the greedy, same time limit), with the solver's status and lower bound;
* **scaling**: the two greedies again with every demand cell (72,574) as a candidate.

Usage::

    python bench/bench_siting.py [--time-limit 600] [--repeat 3] [--sizes 50,200,500] [--database-url URL] [--skip-exact] [--skip-scaling] [--targets 78,80,85]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _stations(url: str | None):
    from stations.registry import Registry

    reg = Registry(url)
    if reg.count() > 0:
        return reg.load(), reg.url
    from stations.demo import demo_csv_path, load_demo, write_demo_csv

    tmp = Path(tempfile.mkdtemp(prefix="bench-siting-"))
    reg = Registry(f"sqlite:///{tmp / 'demo.sqlite'}")
    path = demo_csv_path()
    if not path.exists():
        path = write_demo_csv(tmp / "stations_demo.csv")
    load_demo(reg, path)
    return reg.load(), f"{reg.url} (the synthetic demo set; the registry was empty)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds for each exact solve (<= 600)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="50,200,500")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--skip-exact", action="store_true")
    ap.add_argument("--skip-scaling", action="store_true", help="skip the all-cells-as-candidates greedy run")
    ap.add_argument("--targets", default="78,80,85", help="coverage targets %% for the set-cover comparison ('' to skip)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    import os

    import highspy  # noqa: F401  (fail early)

    from stations import siting as S
    from stations.demand import load_demand

    print(f"== Siting benchmark: Yunnan, radius 1,000 m, all day, default candidates (machine: {os.cpu_count()} CPUs) ==")
    t0 = time.perf_counter()
    stations, where = _stations(args.database_url)
    demand = load_demand()
    t1 = time.perf_counter()
    model = S.MaxCover.from_geodataframes(demand, None, stations, 1000.0)
    t2 = time.perf_counter()
    model.gains0()
    cand, B, W, stats = model.reduce()
    t3 = time.perf_counter()
    print(f"registry: {len(stations):,} stations from {where}")
    print(f"demand: {len(demand):,} cells, {model.total:,.0f} workers; covered now {model.base_covered:,.0f} "
          f"({100 * model.base_covered / model.total:.2f}%) by {len(model.stations):,} open stations")
    print(f"candidates: {model.n_candidates:,} town cells; coverage matrix {model.A.shape[0]:,} x {model.A.shape[1]:,}, "
          f"{model.A.nnz:,} non-zeros; with a positive gain: {int((model.gains0() > model._tol()).sum()):,} "
          f"({stats['candidates_reduced']:,} after merging identical ones); "
          f"uncovered reachable demand merged into {stats['demand_reduced']:,} groups ({stats['nnz_reduced']:,} non-zeros)")
    print(f"setup: load {t1 - t0:.2f} s, model {t2 - t1:.2f} s, reduction {t3 - t2:.2f} s; "
          f"at most +{model.max_added():,.0f} workers reachable by all candidates")
    rows = []
    for n in sizes:
        lazy_t, naive_t = [], []
        for _ in range(args.repeat):
            g = model.solve_greedy(n)
            lazy_t.append(g.time_s)
            nv = model.solve_greedy_naive(n)
            naive_t.append(nv.time_s)
        same = g.order.tolist() == nv.order.tolist()
        swap_t = []
        for _ in range(args.repeat):
            sw = model.solve_greedy_swap(n, time_limit=600.0)
            swap_t.append(sw.time_s)
        row = {"n": n, "greedy": g, "naive": nv, "lazy_s": min(lazy_t), "naive_s": min(naive_t), "same": same, "exact": None,
               "swap": sw, "swap_s": min(swap_t)}
        print(f"\n-- N = {n} --")
        print(f"greedy lazy (CELF): +{g.objective:,.1f} workers -> {g.covered_pct:.3f}% in {min(lazy_t) * 1000:.1f} ms "
              f"(best of {args.repeat}; {g.extra['gain_evaluations']:,} gain re-evaluations); upper bound on the optimum "
              f"+{g.upper_bound:,.1f} (greedy >= {100 * g.objective / g.upper_bound:.1f}% of it)")
        print(f"greedy naive:       +{nv.objective:,.1f} workers in {min(naive_t) * 1000:.1f} ms "
              f"(best of {args.repeat}); same sites as lazy: {same}; lazy is {min(naive_t) / min(lazy_t):.1f}x faster")
        print(f"greedy + swaps:     +{sw.objective:,.1f} workers -> {sw.covered_pct:.3f}% in {min(swap_t) * 1000:.1f} ms "
              f"(best of {args.repeat}, greedy included; first run {swap_t[0] * 1000:.1f} ms); "
              f"+{sw.extra['improvement_workers']:,.1f} over the greedy ({sw.extra['improvement_pct']:.2f}%), "
              f"{sw.extra['swaps']} swaps, {sw.extra['pair_swaps']} pair exchanges; {sw.status}")
        if not args.skip_exact:
            try:
                e = model.solve_exact(n, time_limit=min(args.time_limit, 600.0), warm_start=g)
                row["exact"] = e
                finished = e.status == "optimal"
                print(f"exact (HiGHS MIP):  +{e.objective:,.1f} workers -> {e.covered_pct:.3f}% in {e.time_s:.1f} s, "
                      f"status {e.status}{'' if finished else ' (DID NOT FINISH within the time limit)'}; dual bound "
                      f"+{e.upper_bound:,.1f}; B&B nodes {e.extra.get('nodes')}")
                print(f"greedy / exact = {100 * g.objective / e.objective:.2f}% (gap {100 * (e.objective - g.objective) / e.objective:.2f}%); "
                      f"greedy + swaps / exact = {100 * sw.objective / e.objective:.2f}% "
                      f"(gap {100 * (e.objective - sw.objective) / e.objective:.2f}%), {e.time_s / row['swap_s']:.0f}x faster than exact")
            except S.SitingError as exc:
                print(f"exact: not run: {exc}")
        rows.append(row)

    cover_rows = []
    for target in [float(x) for x in args.targets.split(",") if x.strip()]:
        g = model.solve_set_cover(target)
        line = f"greedy {g.n} sites in {g.time_s * 1000:.0f} ms (Wolsey ratio {g.extra['bound_ratio']:.2f}, >= {g.extra['lower_bound_sites']})"
        e = None
        if g.extra["reached"] and not args.skip_exact:
            try:
                e = model.solve_set_cover_exact(target, time_limit=min(args.time_limit, 600.0), warm_start=g)
            except S.SitingError as exc:
                line += f"; exact not run: {exc}"
        if e is not None:
            line += (f"; exact {e.n} sites, {e.status} in {e.time_s:.1f} s (lower bound {e.extra.get('lower_bound_sites')}, "
                     f"B&B nodes {e.extra.get('nodes')})")
        print(f"\n-- set cover, target {target:g}% -- {line}")
        cover_rows.append((target, g, e))

    if not args.skip_scaling:
        # scaling: every demand cell a candidate (rural cells too), the greedies only
        from stations.siting import candidates_from_frame

        allc = candidates_from_frame(demand["lon"].to_numpy(), demand["lat"].to_numpy(),
                                     county_adcode=demand["county_adcode"].to_numpy())
        t4 = time.perf_counter()
        big = S.MaxCover.from_geodataframes(demand, allc, stations, 1000.0)
        big.gains0()
        t5 = time.perf_counter()
        print(f"\n-- scaling: every demand cell a candidate: {big.n_candidates:,} candidates, {big.A.nnz:,} non-zeros "
              f"(model {t5 - t4:.1f} s) --")
        for n in sizes:
            lz = min(big.solve_greedy(n, bound=False).time_s for _ in range(args.repeat))
            nv = min(big.solve_greedy_naive(n).time_s for _ in range(args.repeat))
            g = big.solve_greedy(n, bound=False)
            print(f"N = {n}: lazy {lz * 1000:.1f} ms, naive {nv * 1000:.1f} ms ({nv / lz:.1f}x); +{g.objective:,.1f} workers")

    print("\n== Summary ==")
    print(f"{'N':>5} {'greedy +workers':>16} {'lazy ms':>9} {'naive ms':>9} {'ratio':>6} {'exact +workers':>15} {'exact s':>8} "
          f"{'status':>10} {'gap %':>6}")
    for r in rows:
        e = r["exact"]
        print(f"{r['n']:>5} {r['greedy'].objective:>16,.1f} {r['lazy_s'] * 1000:>9.1f} {r['naive_s'] * 1000:>9.1f} "
              f"{r['naive_s'] / r['lazy_s']:>6.1f} "
              + (f"{e.objective:>15,.1f} {e.time_s:>8.1f} {e.status:>10} {100 * (e.objective - r['greedy'].objective) / e.objective:>6.2f}"
                 if e is not None else f"{'-':>15} {'-':>8} {'not run':>10} {'-':>6}"))
    print("\ngreedy, greedy + swaps and exact side by side (objective = workers newly covered; % of the exact optimum)")
    print(f"{'N':>5} {'greedy':>12} {'ms':>7} {'%':>7} {'greedy+swaps':>13} {'ms':>7} {'%':>7} {'exact':>12} {'s':>7} "
          f"{'status':>10} {'speed-up':>9}")
    for r in rows:
        e, g, sw = r["exact"], r["greedy"], r["swap"]
        pct = (lambda v: f"{100 * v / e.objective:>7.2f}") if e is not None and e.objective > 0 else (lambda v: f"{'-':>7}")
        print(f"{r['n']:>5} {g.objective:>12,.1f} {r['lazy_s'] * 1000:>7.1f} {pct(g.objective)} {sw.objective:>13,.1f} "
              f"{r['swap_s'] * 1000:>7.1f} {pct(sw.objective)} "
              + (f"{e.objective:>12,.1f} {e.time_s:>7.1f} {e.status:>10} {e.time_s / r['swap_s']:>8.0f}x" if e is not None
                 else f"{'-':>12} {'-':>7} {'not run':>10} {'-':>9}"))
    if cover_rows:
        print(f"\n{'target %':>8} {'greedy sites':>13} {'greedy ms':>10} {'exact sites':>12} {'exact s':>8} {'status':>16} {'lower bound':>12}")
        for target, g, e in cover_rows:
            print(f"{target:>8g} {g.n:>13} {g.time_s * 1000:>10.0f} "
                  + (f"{e.n:>12} {e.time_s:>8.1f} {e.status:>16} {e.extra.get('lower_bound_sites')!s:>12}" if e is not None
                     else f"{'-':>12} {'-':>8} {'not run':>16} {'-':>12}"))


if __name__ == "__main__":
    main()
