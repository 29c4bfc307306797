"""``yizhan coverage`` and ``yizhan gaps``: the planner's coverage figures on the command line.

    yizhan coverage --radius 1000 [--rural-radius 2000] [--hour 22] [--demand FILE] --by county --out coverage.xlsx
    yizhan gaps [--radius 1000] [--hour 22] [--limit 100] --out gaps.gpkg
    yizhan coverage --distance network      # on foot: 1,125 m (15 minutes) on the street network, beside straight lines

Output formats follow the file suffix: .csv (UTF-8 with BOM), .xlsx, .geojson, .gpkg. Without ``--out`` the
table (or the top gaps) is printed. Bad input gives a one-line message and exit status 1 or 2.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from pathlib import Path

import click
from tqdm import tqdm

from stations import coverage as C
from stations.limits import LIMITS
from webmap.cli_distance import DISTANCE, compute, echo_side_by_side, label, radius_for, require_network

_R, _H, _W = LIMITS["radius_m"], LIMITS["hour"], LIMITS["weekday"]
RADIUS = click.option("--radius", type=click.FloatRange(int(_R.lo), int(_R.hi)), default=None,
                      help="service radius in metres (for towns when --rural-radius is given); default 1000, "
                           "with --distance network 1125 (15 minutes' walk)")
RURAL = click.option("--rural-radius", type=click.FloatRange(int(_R.lo), int(_R.hi)), default=None,
                     help="service radius in metres for rural demand cells")
HOUR = click.option("--hour", type=click.IntRange(int(_H.lo), int(_H.hi)), default=None,
                    help="count only stations open at this hour (Asia/Shanghai)")
WEEKDAY = click.option("--weekday", type=click.IntRange(int(_W.lo), int(_W.hi)), default=int(_W.default), show_default=True,
                       help="day of the week for --hour (0 = Monday)")
DEMAND = click.option("--demand", "demand_file", type=click.Path(dir_okay=False), default=None,
                      help="demand file (CSV lon/lat + weight, GeoJSON, GeoPackage, GeoTIFF) instead of the model")
WEIGHT = click.option("--weight", default=None, help="weight column of --demand (default: detected)")


class _Steps:
    """A tqdm bar over named steps (shown on a terminal, quiet in pipes)."""

    def __init__(self, total: int, desc: str):
        self.bar = tqdm(total=total, desc=desc, unit="step", leave=False, disable=None)

    @contextmanager
    def step(self, name: str):
        self.bar.set_postfix_str(name)
        yield
        self.bar.update(1)

    def close(self):
        self.bar.close()


def _inputs(steps: _Steps, demand_file, weight, radius, rural, hour, weekday, distance="straight"):
    from stations.demand import load_demand, load_demand_file
    from stations.errors import InputError
    from stations.registry import Registry

    with steps.step("registry"):
        try:
            stations = Registry().load()
        except Exception as exc:
            raise click.ClickException(f"cannot read the station registry: {exc}") from None
    with steps.step("demand"):
        try:
            demand = load_demand_file(demand_file, weight=weight) if demand_file else load_demand()
        except InputError as exc:  # a bad file, or one over a budget (rows, pixels, cells)
            raise click.ClickException(f"{demand_file}: {exc}") from None
    with steps.step("coverage"):
        spec = radius if rural is None else {"town": radius, "rural": rural, "default": radius}
        result = compute(stations, demand, spec, hour, weekday, distance)  # straight or on foot (issue 13)
    return result


def _note_outside(result) -> None:
    outside = result.demand["county_adcode"].isna()
    if outside.any():
        click.echo(
            f"note: {int(outside.sum()):,} demand points ({result.demand.loc[outside, 'workers'].sum():,.0f} workers) lie "
            "outside Yunnan's counties; they count in the totals above but not in the tables"
        )


def _check_out(out):
    if out is None:
        return
    try:
        C.export_format(Path(out), None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from None


@click.command("coverage")
@RADIUS
@RURAL
@HOUR
@WEEKDAY
@DEMAND
@WEIGHT
@DISTANCE
@click.option("--by", type=click.Choice(C.LEVELS), default="county", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="coverage.csv|.xlsx|.geojson|.gpkg")
def coverage_cmd(radius, rural_radius, hour, weekday, demand_file, weight, distance, by, out):
    """Coverage of outdoor workers by open stations, by province, prefecture or county."""
    _check_out(out)
    if distance == "network":
        require_network()
    radius = radius_for(distance, radius)
    t0 = time.perf_counter()
    steps = _Steps(5, "coverage")
    try:
        result = _inputs(steps, demand_file, weight, radius, rural_radius, hour, weekday, distance)
        with steps.step("table"):
            table = C.coverage_table(result, by)
        with steps.step("export"):
            if out:
                C.export_table(table, out)
    finally:
        steps.close()
    when = "all day" if hour is None else f"at {hour:02d}:00"
    click.echo(
        f"{result.workers_covered:,.0f} of {result.workers:,.0f} workers covered ({result.covered_pct:.1f}%) "
        f"by {len(result.stations):,} open stations within {label(distance, radius)}, {when} "
        f"[{time.perf_counter() - t0:.2f} s]"
    )
    _note_outside(result)
    if out:
        click.echo(f"wrote {len(table)} rows to {out}")
    else:
        show = C.round_table(table)[["adcode", "name", "stations", "workers", "workers_covered", "covered_pct",
                                     "area_covered_km2", "median_distance_m", "p90_distance_m"]]
        click.echo(show.to_string(index=False))
    spec = radius if rural_radius is None else {"town": radius, "rural": rural_radius, "default": radius}
    echo_side_by_side(result, result.stations, result.demand, spec, hour, weekday, by)


@click.command("gaps")
@RADIUS
@RURAL
@HOUR
@WEEKDAY
@DEMAND
@WEIGHT
@DISTANCE
@click.option("--limit", type=click.IntRange(1, None), default=None, help="keep the N largest gaps")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="gaps.gpkg|.geojson|.csv|.xlsx")
def gaps_cmd(radius, rural_radius, hour, weekday, demand_file, weight, distance, limit, out):
    """Contiguous uncovered demand as polygons, ranked by uncovered workers."""
    _check_out(out)
    if distance == "network":
        require_network()
    radius = radius_for(distance, radius)
    steps = _Steps(5, "gaps")
    try:
        result = _inputs(steps, demand_file, weight, radius, rural_radius, hour, weekday, distance)
        with steps.step("gaps"):
            gaps = C.find_gaps(result, limit=limit)
        with steps.step("export"):
            if out:
                C.export_gaps(gaps, out)
    finally:
        steps.close()
    click.echo(f"{len(gaps):,} gaps, {gaps['uncovered_workers'].sum():,.0f} uncovered workers")
    _note_outside(result)
    if out:
        click.echo(f"wrote {out}")
    else:
        show = gaps.drop(columns="geometry").head(20).round({"uncovered_workers": 0, "nearest_station_m": 0, "area_km2": 2, "lon": 5, "lat": 5})
        click.echo(show.to_string(index=False))
