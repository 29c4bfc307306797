"""``yizhan network``: the walking network on the command line.

    yizhan network build EXTRACT.osm.pbf [--force]
    yizhan network status
    yizhan network isochrones --station ID | --all [--hour H] [--minutes 5,10,15] --out FILE.geojson|.gpkg
    yizhan network coverage [--minutes 15 | --distance M] [--hour H] [--demand FILE] [--by county] [--out FILE]

Registered on the ``yizhan`` group by ``main.add_command(network_group)`` in ``webmap.cli``. Bad input gets
one line on stderr (``错误 / error: ...``) and exit status 2; a failed build leaves the previous network in
place. Extracts come from the deployer (``docs/network.md``: Geofabrik's China extract cut to Yunnan, or
BBBike); street data © OpenStreetMap contributors, ODbL.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from stations.errors import InputError

NO_NETWORK_HINT = "build one with `yizhan network build EXTRACT.osm.pbf` (see docs/network.md)"


def _fail(message: str, code: int = 2):
    click.secho(f"错误 / error: {message}", fg="red", err=True)
    sys.exit(code)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


@click.group("network")
def network_group():
    """Walking distances on streets from an OpenStreetMap extract (optional; straight lines without one)."""


class _BuildBars:
    """tqdm bars for the build: bytes hashed, then ways read, then the graph and the write."""

    def __init__(self):
        self.bar = None
        self.stage = None

    def __call__(self, stage: str, done: int, total: int | None):
        if stage != self.stage:
            self.close()
            self.stage = stage
            desc = {"hash": "SHA-256", "read": "walkable ways", "graph": "graph", "write": "write"}[stage]
            unit = {"hash": "B", "read": "way"}.get(stage, "step")
            self.bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=stage == "hash", leave=False, disable=None)
        self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@network_group.command("build")
@click.argument("extract", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="rebuild even when the stored network came from this very extract")
def build_cmd(extract, force):
    """Build the walking network from EXTRACT (.osm.pbf or .osm of Yunnan or a city in it)."""
    from stations.network import build_network, describe

    bars = _BuildBars()
    t0 = time.perf_counter()
    try:
        res = build_network(extract, force=force, progress=bars)
    except InputError as exc:
        bars.close()
        _fail(f"{exc}; the previous network (if any) is unchanged")
    except MemoryError:
        bars.close()
        _fail("out of memory while building the network; the previous network (if any) is unchanged", 1)
    finally:
        bars.close()
    m = res.manifest
    if res.reused:
        click.echo(f"{describe(m)}: already built from this extract (sha256 {m['sha256'][:12]}…); use --force to rebuild")
        return
    click.echo(describe(m))
    click.echo(f"{m['edges']:,} edges, {m['length_km']:,.1f} km of walkable ways from {m['walkable_ways']:,} of "
               f"{m['highway_ways']:,} highway ways; {m['fragments_dropped']:,} short fragments left out")
    click.echo(f"built in {time.perf_counter() - t0:.1f} s, peak memory {_peak_rss_mb():,.0f} MB; stored in {res.path}")
    click.echo(m["attribution"])


@network_group.command("status")
def status_cmd():
    """Say whether a street network is loaded, and from what."""
    from stations.network import read_manifest, status

    click.echo(status())
    m = read_manifest()
    if m is None:
        click.echo(NO_NETWORK_HINT)
        return
    b = m["bbox"]
    click.echo(f"{m['edges']:,} edges, {m['length_km']:,.1f} km; bbox lon {b[0]:.4f}..{b[2]:.4f}, lat {b[1]:.4f}..{b[3]:.4f}; "
               f"{100 * m['share_in_yunnan']:.1f}% of nodes in Yunnan")
    click.echo(f"extract sha256 {m['sha256']}, read with {m['reader']}, filter version {m['filter_version']}")
    click.echo(m["attribution"])


def _network_or_fail():
    from stations.network import NO_NETWORK, load_network

    net = load_network()
    if net is None:
        _fail(f"{NO_NETWORK}; {NO_NETWORK_HINT}")
    return net


def _stations(db):
    from stations.registry import Registry, RegistryError

    try:
        return Registry(db).load()
    except RegistryError as exc:
        _fail(str(exc))


@network_group.command("isochrones")
@click.option("--station", "station_id", default=None, help="the station's id")
@click.option("--all", "all_stations", is_flag=True, help="all active stations together (open ones; see --hour)")
@click.option("--hour", type=click.IntRange(0, 23), default=None, help="with --all: only stations open at this hour")
@click.option("--weekday", type=click.IntRange(0, 6), default=2, show_default=True, help="day for --hour (0 = Monday)")
@click.option("--minutes", default="5,10,15", show_default=True, help="walking-time bands, comma-separated")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="FILE.geojson or FILE.gpkg")
@click.option("--db", default=None, help="SQLAlchemy URL of the registry (default: $DATABASE_URL)")
def isochrones_cmd(station_id, all_stations, hour, weekday, minutes, out, db):
    """5/10/15-minute walking areas of one station or of all active stations."""
    from stations import coverage as C
    from stations.network import export_isochrones, isochrones, parse_minutes

    if bool(station_id) == bool(all_stations):
        _fail("give --station ID or --all (one of them)")
    if hour is not None and not all_stations:
        _fail("--hour applies to --all")
    suffix = Path(out).suffix.lower()
    if suffix not in (".geojson", ".json", ".gpkg"):
        _fail(f"--out must end in .geojson or .gpkg, not {suffix or '(nothing)'}")
    try:
        bands = parse_minutes(minutes)
    except InputError as exc:
        _fail(f"--minutes: {exc}")
    net = _network_or_fail()
    gdf = _stations(db)
    if station_id:
        sel = gdf[gdf["id"].astype(str) == station_id]
        if sel.empty:
            _fail(f"no station with id {station_id!r} in the registry")
        label = station_id
    else:
        sel = C.active_stations(gdf, hour=hour, weekday=weekday)
        if sel.empty:
            _fail("no active station" + ("" if hour is None else f" open at {hour:02d}:00"))
        label = "all open stations" + ("" if hour is None else f" at {hour:02d}:00")
    lon, lat = C.lonlat(sel)
    with tqdm(total=2, desc="isochrones", unit="step", leave=False, disable=None) as bar:
        try:
            iso = isochrones(net, lon, lat, minutes=bands, label=label)
        except InputError as exc:
            _fail(str(exc))
        bar.update(1)
        export_isochrones(iso, out)
        bar.update(1)
    for row in iso.itertuples():
        click.echo(f"{row.minutes:g} min ({row.distance_m:,.0f} m): {row.area_km2:,.3f} km²")
    click.echo(f"wrote {len(iso)} bands for {label} ({int(iso['stations'].iloc[0]):,} stations on the network) to {out}")
    click.echo(net.manifest.get("attribution", ""))


@network_group.command("coverage")
@click.option("--minutes", type=click.FloatRange(1, 240), default=None, help="walking time (default 15 = 1,125 m)")
@click.option("--distance", type=click.FloatRange(50, 20000), default=None, help="walking distance in metres instead")
@click.option("--hour", type=click.IntRange(0, 23), default=None, help="count only stations open at this hour")
@click.option("--weekday", type=click.IntRange(0, 6), default=2, show_default=True, help="day for --hour (0 = Monday)")
@click.option("--demand", "demand_file", type=click.Path(dir_okay=False), default=None,
              help="demand file (CSV lon/lat + weight, GeoJSON, GeoPackage, GeoTIFF) instead of the model")
@click.option("--by", type=click.Choice(["province", "prefecture", "county"]), default="county", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="table.csv|.xlsx|.geojson|.gpkg")
@click.option("--db", default=None, help="SQLAlchemy URL of the registry (default: $DATABASE_URL)")
def coverage_cmd(minutes, distance, hour, weekday, demand_file, by, out, db):
    """Coverage on foot next to straight-line coverage at the same distance, per county (or prefecture)."""
    from stations import coverage as C
    from stations.network import distance_limit, network_coverage, side_by_side_table

    if out is not None:
        try:
            C.export_format(Path(out), None)
        except ValueError as exc:
            _fail(f"--out: {exc}")
    try:
        limit = distance_limit(distance_m=distance, minutes=minutes)
    except InputError as exc:
        _fail(f"--{exc.param}: {exc}")
    net = _network_or_fail()
    t0 = time.perf_counter()
    with tqdm(total=4, desc="network coverage", unit="step", leave=False, disable=None) as bar:
        stations = _stations(db)
        bar.update(1)
        try:
            if demand_file:
                from stations.demand import load_demand_file

                demand = load_demand_file(demand_file)
            else:
                from stations.demand import load_demand

                demand = load_demand()
        except InputError as exc:
            _fail(f"{demand_file}: {exc}")
        bar.update(1)
        res = network_coverage(net, stations, demand, distance=limit, hour=hour, weekday=weekday)
        bar.update(1)
        table = side_by_side_table(res, by)
        bar.update(1)
    when = "all day" if hour is None else f"at {hour:02d}:00"
    click.echo(f"within {limit:,.0f} m ({limit / 75.0:.0f} min on foot), {when}, {len(res.stations):,} open stations: "
               f"straight line {res.covered_pct_straight:.1f}% of {res.workers:,.0f} workers, on streets "
               f"{res.covered_pct:.1f}% ({res.covered_pct_straight - res.covered_pct:+.1f} points overstated by straight "
               f"lines) [{time.perf_counter() - t0:.1f} s]")
    if res.workers_unreachable > 0:
        n_un = len(res.unreachable)
        click.echo(f"{n_un:,} demand points ({res.workers_unreachable:,.0f} workers) are more than {res.max_snap_m:.0f} m "
                   "from any walkable street: they cannot reach the network and count as not covered")
    if res.stations_off_network:
        click.echo(f"{len(res.stations_off_network):,} open stations are more than {res.max_snap_m:.0f} m from any "
                   f"walkable street and cover nothing on foot: {', '.join(res.stations_off_network[:10])}"
                   + (" …" if len(res.stations_off_network) > 10 else ""))
    if net.synthetic:
        click.echo("note: the street network is SYNTHETIC test data, not real streets")
    shown = _rounded(table)
    if out:
        C.export_table(shown, out)
        click.echo(f"wrote {len(shown)} rows to {out}")
    else:
        cols = ["adcode", "name", "stations", "workers", "covered_pct_straight", "covered_pct_network",
                "overstatement_pp", "workers_unreachable", "median_straight_m", "median_network_m"]
        click.echo(shown[cols].to_string(index=False))
    click.echo(net.manifest.get("attribution", ""))


def _rounded(table):
    t = table.copy()
    for col, nd in (("workers", 0), ("workers_covered_straight", 0), ("workers_covered_network", 0),
                    ("workers_unreachable", 0), ("covered_pct_straight", 1), ("covered_pct_network", 1),
                    ("overstatement_pp", 1), ("unreachable_pct", 1), ("median_straight_m", 0),
                    ("median_network_m", 0), ("median_snap_m", 0)):
        t[col] = t[col].astype(float).round(nd)
    return t
