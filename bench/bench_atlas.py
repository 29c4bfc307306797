"""Benchmark: the 17-page A4 atlas (cover + 16 prefecture sheets), with one sheet timed beside it, and the
county atlas of 昆明市 (a cover, then each of its 14 counties' sheet and station table pages).

Uses the registry when it holds stations, otherwise the bundled synthetic demo set (generated in memory).
Prints the figures; writes the files to a temporary folder (or ``--keep DIR``).

    .venv/bin/python bench/bench_atlas.py [--keep out/]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _stations():
    import geopandas as gpd

    try:
        from stations.registry import Registry

        gdf = Registry().load()
        if len(gdf):
            return gdf, "registry"
    except Exception:
        pass
    from stations import demo

    df = demo.generate()
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326"), "demo.generate()"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="folder to keep the PDFs in")
    args = parser.parse_args()

    from stations import cartography, sheet_layers

    out_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="yizhan-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    stations, origin = _stations()
    t_load = time.perf_counter() - t0

    # one sheet, cold context (geography, coverage computation, fonts): what `yizhan print` costs
    t0 = time.perf_counter()
    sheet = out_dir / "kunming-A4.pdf"
    cartography.make_sheet("530100", "A4", "portrait", None, 1000, sheet, context=sheet_layers.context(stations))
    t_sheet_cold = time.perf_counter() - t0

    # the same sheet again with a warm context (what each atlas page costs)
    ctx = sheet_layers.context(stations)
    ctx.analysis(1000, cartography.DEFAULT_LAYERS)
    t0 = time.perf_counter()
    cartography.make_sheet("530100", "A4", "portrait", None, 1000, out_dir / "kunming-A4-warm.pdf", context=ctx)
    t_sheet_warm = time.perf_counter() - t0

    # the atlas, cold context
    t0 = time.perf_counter()
    atlas = out_dir / "yunnan-atlas-A4.pdf"
    info = cartography.make_atlas("A4", atlas, progress=False, context=sheet_layers.context(stations))
    t_atlas = time.perf_counter() - t0

    # the county atlas of 昆明市 (its sheets and the paginated tables of its stations), warm context
    t0 = time.perf_counter()
    county = out_dir / "atlas-530100-A4.pdf"
    cinfo = cartography.make_atlas("A4", county, progress=False, area="530100", context=ctx)
    t_county = time.perf_counter() - t0
    pages = cartography.atlas_pages(ctx, "530100", "A4")
    n_tables = sum(n for _p, n in pages.values())

    mib = 1024 * 1024
    print(f"stations: {len(stations):,} from {origin} (loaded in {t_load:.1f} s)")
    print(f"single A4 sheet (昆明市, cold: geography + coverage + fonts): {t_sheet_cold:6.1f} s  {sheet.stat().st_size / mib:5.2f} MiB")
    print(f"single A4 sheet (昆明市, warm context):                        {t_sheet_warm:6.1f} s")
    print(f"A4 atlas, {info.pages} pages (cold):                                 {t_atlas:6.1f} s  {atlas.stat().st_size / mib:5.2f} MiB"
          f"  ({t_atlas / info.pages:.1f} s/page)")
    print(f"A4 county atlas of 昆明市, {cinfo.pages} pages ({len(pages)} sheets, {n_tables} station table pages, warm): "
          f"{t_county:6.1f} s  {county.stat().st_size / mib:5.2f} MiB  ({t_county / cinfo.pages:.1f} s/page)")
    print(f"files in {out_dir}")


if __name__ == "__main__":
    main()
