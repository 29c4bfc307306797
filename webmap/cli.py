"""The ``yizhan`` command line.

Every command answers bad input with a precise message on stderr and a non-zero exit code (2 for bad
arguments or unreadable files, 1 for files with invalid rows), never a traceback, and never leaves the
registry half-written.
"""

from __future__ import annotations

import logging
import sys

import click

from stations import config


log = logging.getLogger("yizhan")


def _fail(message: str, code: int = 2):
    click.secho(f"错误 / error: {message}", fg="red", err=True)
    sys.exit(code)


def cli_actor() -> str:
    """Who a command-line change is logged as in the audit log: ``cli:`` and the login name."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli:unknown"


def _registry(db: str | None):
    from stations.registry import Registry, RegistryError

    try:
        return Registry(db)
    except RegistryError as exc:
        _fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yizhan")
@click.option("-v", "--verbose", is_flag=True, help="More log output.")
def main(verbose: bool):
    """驿站 yizhan: Yunnan trade-union rest stations — registry, maps, coverage, print.

    The registry is the SQLAlchemy URL in DATABASE_URL (default: SQLite var/yizhan.sqlite).
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # Alembic says "Context impl SQLiteImpl" and lists its plugins at every registry check
        logging.getLogger("alembic").setLevel(logging.WARNING)


@main.command("init-db")
@click.option("--db", help="SQLAlchemy URL (default: $DATABASE_URL or var/yizhan.sqlite).")
@click.option("--force", is_flag=True, help="Replace a registry that already holds stations.")
def init_db(db, force):
    """Create or upgrade the registry (Alembic migrations) and load the synthetic demo set (3,676 stations) if it is empty."""
    from stations import demo

    reg = _registry(db)
    click.echo(f"registry schema at revision {reg.revision} ({reg.safe_url})")
    n = reg.count()
    if n and not force:
        click.echo(f"registry already holds {n} stations ({reg.safe_url}); use --force to replace with the demo set")
        return
    try:
        loaded = demo.load_demo(reg, actor=cli_actor())
    except (OSError, ValueError) as exc:
        _fail(f"cannot load the demo set: {exc}")
    click.echo(f"loaded {loaded} synthetic demo stations (示例数据) into {reg.safe_url}")


@main.command("build-demo")
@click.option("--out", type=click.Path(dir_okay=False), help="Where to write (default data/geo/stations_demo.csv).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the fixed published seed).")
def build_demo(out, seed):
    """Regenerate the synthetic demo station file from the geography (deterministic)."""
    from stations import demo

    path = demo.write_demo_csv(out, seed=demo.SEED if seed is None else seed, progress=True)
    click.echo(f"wrote {path}")


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True,
              help="Coordinate system of the file: gcj02 for Amap/Tencent, bd09 for Baidu.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--skip-invalid", "rejects", type=click.Path(dir_okay=False),
              help="Write the good rows and save the rejected ones (with a reason column) to this CSV.")
@click.option("--db", help="SQLAlchemy URL (default: $DATABASE_URL).")
def import_cmd(file, crs, dry_run, rejects, db):
    """Import stations from CSV (UTF-8/GBK), XLSX, GeoJSON or GeoPackage; upsert by id.

    By default nothing is written if any row is bad.
    """
    from stations.export import write_table
    from stations.importer import ImportFileError, read_stations

    reg = _registry(db)
    try:
        result = read_stations(file, crs=crs, existing=reg.load())
    except ImportFileError as exc:
        _fail(str(exc))
    n_bad = len({e.row for e in result.errors})
    for err in result.errors[:200]:
        click.echo(f"{file}: {err}", err=True)
    if len(result.errors) > 200:
        click.echo(f"... and {len(result.errors) - 200} more problems", err=True)
    good = len(result.valid)
    click.echo(f"{result.rows_read} rows read: {good} valid, {n_bad} invalid")
    if result.errors and not rejects:
        _fail(f"{n_bad} invalid rows; nothing was written (fix them, or use --skip-invalid REJECTS.csv)", 1)
    if dry_run:
        click.echo("dry run: nothing written")
        return
    if rejects and n_bad:
        write_table(result.rejected, "csv", rejects)
        click.echo(f"rejected rows saved to {rejects}")
    from stations.registry import RegistryError

    try:
        res = reg.upsert(result.valid, actor=cli_actor(), source="cli", reason=f"yizhan import {file}")
    except RegistryError as exc:
        _fail(f"{exc}; the registry is unchanged")
    click.echo(f"registry: {res.inserted} added, {res.updated} updated, {res.unchanged} unchanged")


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["gpkg", "geojson", "csv", "xlsx"]), help="Default: from the file name.")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--db", help="SQLAlchemy URL (default: $DATABASE_URL).")
def export_cmd(fmt, out, db):
    """Export the registry: GeoPackage, GeoJSON (RFC 7946), CSV (UTF-8 BOM) or XLSX."""
    from stations.export import ExportError, export_stations

    reg = _registry(db)
    stations = reg.load()
    try:
        path = export_stations(stations, fmt, out)
    except ExportError as exc:
        _fail(str(exc))
    click.echo(f"wrote {len(stations)} stations to {path}")  # the rows written, not a count asked for afterwards


@main.command("stats")
@click.option("--db", help="SQLAlchemy URL (default: $DATABASE_URL).")
def stats_cmd(db):
    """Stations per prefecture and per service."""
    from stations import geo
    from stations.schema import DEMO_SOURCE, SERVICES, STATUSES

    gdf = _registry(db).load()
    if len(gdf) == 0:
        click.echo("the registry is empty: run `yizhan init-db` or `yizhan import FILE`")
        return
    if (gdf["source"] == DEMO_SOURCE).any():
        click.echo("注意：示例数据（合成）/ note: synthetic demo data")
    pref = geo.load_prefectures().set_index("adcode")
    click.echo(f"\n{'adcode':<8}{'prefecture 州市':<22}{'stations':>9}{'open':>7}")
    counts = gdf.groupby("prefecture_adcode").agg(n=("id", "size"), open=("status", lambda s: int((s == "open").sum())))
    for code, row in counts.iterrows():
        name = pref.loc[code, "name_zh"] if code in pref.index else "?"
        click.echo(f"{code:<8}{name:<{22 - _wide(name)}}{row.n:>9}{row.open:>7}")
    click.echo(f"{'':<8}{'合计 total':<20}{len(gdf):>9}{int((gdf.status == 'open').sum()):>7}")
    click.echo(f"\n{'service 服务':<30}{'stations':>9}{'share':>8}")
    for key, (zh, en) in SERVICES.items():
        n = int(gdf[key].sum())
        label = f"{zh} {en}"
        click.echo(f"{label:<{30 - _wide(zh)}}{n:>9}{n / len(gdf):>8.1%}")
    click.echo(f"\n{'status 状态':<30}{'stations':>9}")
    for key, (zh, en) in STATUSES.items():
        label = f"{zh} {en}"
        click.echo(f"{label:<{30 - _wide(zh)}}{int((gdf.status == key).sum()):>9}")
    n24 = int((gdf.opening_hours.isin(["24小时", "24h", "24/7"])).sum())
    click.echo(f"\n24小时开放 open 24 hours: {n24} ({n24 / len(gdf):.1%})")


def _wide(text: str) -> int:
    """Count of wide (CJK) characters, for aligning columns in a terminal."""
    import unicodedata

    return sum(1 for ch in str(text) if unicodedata.east_asian_width(ch) in ("W", "F"))


@main.command("serve")
@click.option("--host", default=lambda: config.settings().host, show_default="127.0.0.1")
@click.option("--port", type=click.IntRange(1, 65535), default=lambda: config.settings().port, show_default="8000")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True, help="Threads per web process.")
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Web processes (more than 1: Linux/Unix).")
@click.option("--server", type=click.Choice(["waitress", "gunicorn"]), default="waitress", show_default=True,
              help="WSGI server of the web processes.")
@click.option("--workers", type=click.IntRange(0, 64), default=lambda: config.settings().workers, show_default="2",
              help="Job worker processes started beside the web server (sheets, atlases, recommendations, uploads).")
@click.option("--no-worker", is_flag=True, help="Do not start the job worker (one runs elsewhere: `yizhan worker`).")
def serve(host, port, threads, processes, server, workers, no_worker):
    """Serve the app (waitress; --processes N web processes) with its job worker processes beside it."""
    from webmap import serving

    reg = _registry(None)
    if reg.count() == 0:
        click.echo("registry is empty: loading the synthetic demo set first")
        from stations import demo

        demo.load_demo(reg)
    jobs_mode = config.settings().jobs
    if jobs_mode == "queue" and (no_worker or workers == 0):
        log.info("no job worker started here: heavy requests wait for a `yizhan worker` on the same queue")
    click.echo(f"yizhan: http://{host}:{port}/")
    serving.serve(host, port, threads, processes=processes, workers=workers,
                  with_worker=jobs_mode == "queue" and not no_worker, server=server)


@main.command("worker")
@click.option("--workers", type=click.IntRange(1, 64), default=lambda: config.settings().workers, show_default="2",
              help="Worker processes.")
def worker_cmd(workers):
    """Run the job worker: heavy requests and atlases of the web processes, from the queue (YIZHAN_QUEUE_URL)."""
    from webmap import jobs

    try:
        jobs.run_consumer(workers)
    except ValueError as exc:
        _fail(str(exc))


from webmap.cli_print import atlas_cmd, print_cmd  # noqa: E402  (issue 6: map sheets and atlas)

main.add_command(print_cmd)
main.add_command(atlas_cmd)
from webmap.cli_planner import coverage_cmd, gaps_cmd  # noqa: E402  (issue 4: planner coverage)

main.add_command(coverage_cmd)
main.add_command(gaps_cmd)
from webmap.cli_recommend import recommend_cmd  # noqa: E402  (issue 5: recommendations)

main.add_command(recommend_cmd)
from webmap.cli_network import network_group  # noqa: E402  (issue 13: the walking network)

main.add_command(network_group)
from webmap.cli_users import user_cmd  # noqa: E402  (issue 10: officials' accounts)

main.add_command(user_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
