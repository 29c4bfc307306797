"""``yizhan recommend``: where the next stations should go (issue 5).

    yizhan recommend -n 50 [--radius 1000] [--hour 22] [--candidates FILE --crs gcj02] --out sites.xlsx [--curve curve.png]
    yizhan recommend --target-pct 80 --out sites.gpkg [--exact --time-limit 120]

``-n`` asks for the best N new sites (maximal covering, lazy greedy; ``--exact`` also runs the integer program
with HiGHS and reports the gap); ``--target-pct`` for the fewest new sites reaching that coverage (greedy set
cover, with its guarantee printed; ``--exact`` also solves the set-covering integer program and prints both
counts and the solver's status). Existing open stations stay fixed. Output by suffix: .csv (UTF-8 BOM,
plus -prefectures.csv and -counties.csv), .xlsx (sites, prefectures, counties, summary), .geojson, .gpkg.
Bad arguments or files: a one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from stations import coverage as C
from stations.limits import LIMITS
from webmap.cli_distance import DISTANCE, label, radius_for, require_network

OUT_SUFFIXES = (".csv", ".xlsx", ".geojson", ".json", ".gpkg")
_N, _R, _H, _W, _T = (LIMITS[k] for k in ("cli_sites_n", "radius_m", "hour", "weekday", "cli_exact_seconds"))


def _fail(message: str, code: int = 2):
    click.secho(f"错误 / error: {message}", fg="red", err=True)
    sys.exit(code)


@click.command("recommend")
@click.option("-n", "n", type=click.IntRange(int(_N.lo), int(_N.hi)), default=None, help="number of new sites (maximal covering)")
@click.option("--target-pct", type=click.FloatRange(0, 100, min_open=True), default=None,
              help="coverage target in %: the fewest new sites reaching it (set covering)")
@click.option("--radius", type=click.FloatRange(int(_R.lo), int(_R.hi)), default=None,
              help="service radius in metres (for towns when --rural-radius is given); default 1000, with "
                   "--distance network 1125 (15 minutes' walk)")
@DISTANCE
@click.option("--rural-radius", type=click.FloatRange(int(_R.lo), int(_R.hi)), default=None, help="service radius for rural demand cells")
@click.option("--hour", type=click.IntRange(int(_H.lo), int(_H.hi)), default=None, help="count only stations open at this hour")
@click.option("--weekday", type=click.IntRange(int(_W.lo), int(_W.hi)), default=int(_W.default), show_default=True, help="day of the week for --hour (0 = Monday)")
@click.option("--candidates", "cand_file", type=click.Path(dir_okay=False), default=None,
              help="candidate host sites (CSV lon/lat, XLSX, GeoJSON, GeoPackage); default: centres of the demand cells in towns")
@click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True,
              help="coordinate system of --candidates (gcj02: Amap/Tencent, bd09: Baidu)")
@click.option("--demand", "demand_file", type=click.Path(dir_okay=False), default=None, help="demand file instead of the model")
@click.option("--weight", default=None, help="weight column of --demand")
@click.option("--exact", is_flag=True, help="also solve the integer program (HiGHS): with -n the gap, with --target-pct the fewest sites")
@click.option("--time-limit", type=click.FloatRange(_T.lo, _T.hi), default=_T.default, show_default=True, help="seconds for --exact")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="sites.xlsx | .csv | .geojson | .gpkg")
@click.option("--curve", type=click.Path(dir_okay=False), default=None, help="coverage-versus-N picture (.png or .svg; both written)")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="labels of the curve")
@click.option("--db", default=None, help="SQLAlchemy URL of the registry (default: $DATABASE_URL)")
def recommend_cmd(n, target_pct, radius, distance, rural_radius, hour, weekday, cand_file, crs, demand_file, weight, exact, time_limit,
                  out, curve, lang, db):
    """Recommend where new stations should go: the best N sites, or the fewest reaching a coverage target."""
    from stations import siting as S
    from stations.cartography.charts import coverage_curve

    if (n is None) == (target_pct is None):
        _fail("give either -n N (number of new sites) or --target-pct P (coverage target), not both")
    if Path(out).suffix.lower() not in OUT_SUFFIXES:
        _fail(f"--out {out}: use a .csv, .xlsx, .geojson or .gpkg file name")
    if curve and Path(curve).suffix.lower() not in (".png", ".svg"):
        _fail(f"--curve {curve}: use a .png or .svg file name")

    t0 = time.perf_counter()
    net = require_network() if distance == "network" else None  # a clear error without one (issue 13)
    radius = radius_for(distance, radius)
    from stations.demand import load_demand, load_demand_file
    from stations.errors import InputError
    from stations.registry import Registry

    try:
        stations = Registry(db).load()
    except Exception as exc:
        _fail(f"cannot read the station registry: {exc}")
    if len(stations) == 0:
        click.echo("note: the registry is empty (yizhan init-db loads the demo set); every site is measured against no stations", err=True)
    try:
        demand = load_demand_file(demand_file, weight=weight) if demand_file else load_demand()
    except InputError as exc:  # a bad file, or one over a budget (rows, pixels, cells)
        _fail(f"{demand_file}: {exc}")
    cands = None
    if cand_file:
        try:
            cands = S.read_candidates(cand_file, crs=crs)
        except InputError as exc:
            _fail(str(exc))
    spec = radius if rural_radius is None else {"town": radius, "rural": rural_radius, "default": radius}
    try:  # the pairs of demand points and candidates are counted before the matrix is built
        if net is not None:  # on foot: the walking coverage matrix (stations.network.siting)
            from stations.network.siting import network_max_cover

            model = network_max_cover(net, demand, cands, stations, spec, hour, weekday,
                                      max_pairs=LIMITS["cli_coverage_pairs"])
        else:
            model = S.MaxCover.from_geodataframes(demand, cands, stations, spec, hour, weekday,
                                                  max_pairs=LIMITS["cli_coverage_pairs"])
    except InputError as exc:
        _fail(str(exc))
    total = n if n is not None else None
    bar = tqdm(total=total, desc="recommend", unit="site", leave=False, disable=None)

    def progress(k, of):
        bar.update(k - bar.n)

    try:
        rec = S.recommend(stations, demand, n=n, target_pct=target_pct, radius=spec, hour=hour, weekday=weekday,
                          candidates=cands, exact=exact, time_limit=time_limit, progress=progress, model=model)
        if net is not None:
            from stations.network.siting import on_network

            rec = on_network(rec, net, stations, demand, spec, hour, weekday)
    except S.SitingError as exc:
        bar.close()
        _fail(str(exc))
    bar.close()
    try:
        written = rec.export(out)
        if curve:
            written += coverage_curve(rec, curve, lang=lang)
    except (OSError, ValueError) as exc:
        _fail(f"cannot write {out}: {exc}")

    s = rec.summary()
    when = "all day" if hour is None else f"at {hour:02d}:00"
    click.echo(f"candidates: {model.n_candidates:,} ({'file ' + cand_file if cand_file else 'centres of demand cells in towns'}); "
               f"radius {label(distance, radius)}{'' if rural_radius is None else f', rural {rural_radius:g} m'}, {when}")
    click.echo(f"before: {s['before']['workers_covered']:,.0f} of {s['workers']:,.0f} workers covered ({s['before']['covered_pct']:.2f}%) "
               f"by {s['before']['stations']:,} open stations")
    click.echo(f"after:  {s['after']['workers_covered']:,.0f} ({s['after']['covered_pct']:.2f}%) with {s['sites']} new sites")
    click.echo(f"greedy (lazy): +{s['greedy_objective']:,.0f} workers in {s['greedy_time_s']:.3f} s"
               + (f"; upper bound on the optimum +{s['greedy_upper_bound']:,.0f}" if n is not None and s["greedy_upper_bound"] is not None else ""))
    if s.get("swap_objective") is not None:
        click.echo(f"greedy + swaps: +{s['swap_objective']:,.0f} workers (+{s['improvement_workers']:,.0f}, "
                   f"{s['improvement_pct']:.2f}% over the greedy; {s['swaps']} swaps, {s['pair_swaps']} pair exchanges) "
                   f"in {s['swap_time_s']:.3f} s; sites from: {s['method']}")
    if n is not None:
        click.echo(s["guarantee"])
    if rec.exact is not None and target_pct is not None:
        ex_sites = s.get("exact_sites")
        click.echo(f"set cover: greedy {s['greedy_sites']} sites, exact (HiGHS) "
                   f"{'–' if ex_sites is None else ex_sites} sites, {s['exact_status']}, {s['exact_time_s']:.1f} s"
                   + (f"; the optimum needs at least {s['exact_lower_bound_sites']}" if s.get("exact_lower_bound_sites") is not None
                      and s["exact_status"] != "optimal" else ""))
    elif rec.exact is not None:
        click.echo(f"exact (HiGHS): +{s['exact_objective']:,.0f} workers, {s['exact_status']}, {s['exact_time_s']:.1f} s; "
                   f"greedy gap {100 * s['gap']:.2f}%"
                   + (f", greedy + swaps gap {100 * s['swap_gap']:.2f}%" if s.get("swap_gap") is not None else ""))
    elif exact:
        click.echo("exact: not run (instance too large)")
    if target_pct is not None:
        click.echo(f"target {target_pct:g}%: {'reached' if s['reached'] else 'NOT reached'} with {s['sites']} sites; {s['guarantee']}")
    show = S.rounded_sites(rec.sites).drop(columns="geometry").head(10)
    if len(show):
        click.echo(show[["rank", "place_zh", "gain_workers", "cumulative_pct", "lon", "lat", "nearest_station_id",
                         "nearest_station_m"]].to_string(index=False))
    click.echo(f"wrote {', '.join(str(p) for p in written)} [{time.perf_counter() - t0:.1f} s]")
