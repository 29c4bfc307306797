"""``yizhan print`` (one map sheet, PDF or PNG) and ``yizhan atlas`` (the 17-page PDF atlas of the province, or
the county atlas of a prefecture: each county's sheet followed by the table of its stations).

``--area`` takes ``yunnan``, an adcode or a name (昆明市, 昆明, 五华区, kunming, wuhua); a name of several areas
or of none is refused with the close matches listed (:func:`stations.cartography.parse_area`).

Registered on the ``yizhan`` group in :mod:`webmap.cli` with ``main.add_command(print_cmd)`` and
``main.add_command(atlas_cmd)``. Bad arguments print a precise message and exit with code 2 (no traceback);
a machine without a CJK font or without a readable registry exits with code 1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from webmap.cli_distance import DISTANCE, radius_for, require_network


def _fail(message: str, code: int = 2):
    click.secho(f"错误 / error: {message}", fg="red", err=True)
    sys.exit(code)


def _run(fn):
    """Call ``fn`` turning the library's errors into messages and exit codes."""
    from stations.errors import CJKFontError, InputError

    try:
        return fn()
    except InputError as exc:  # a bad argument, or a sheet over a budget (siting pairs, run time)
        _fail(str(exc), 2)
    except CJKFontError as exc:
        _fail(str(exc), 1)
    except (OSError, RuntimeError, ValueError) as exc:
        _fail(f"{type(exc).__name__}: {exc}", 1)


def _max_pairs():
    """The command line's siting budget for the recommended-sites layer (``cli_coverage_pairs``)."""
    from stations.limits import LIMITS

    return LIMITS["cli_coverage_pairs"]


def _check_out(out: str, allowed: tuple[str, ...]) -> Path:
    path = Path(out)
    if path.suffix.lower() not in allowed:
        _fail(f"--out: {out!r} must end in {' or '.join(allowed)}")
    if path.parent and not path.parent.exists():
        _fail(f"--out: the folder {str(path.parent)!r} does not exist")
    return path


def _content_options(fn, radius_default="1000"):
    """--layers, --radius and --symbols, shared by ``print`` and ``atlas``."""
    fn = click.option("--symbols", default="status", show_default=True,
                      help="Station symbols: status (open / 24 h / closed) or services (open stations graded by "
                           "water, microwave, toilet, seating: 4 full, 2-3 partial, 0-1 basic).")(fn)
    fn = click.option("--radius", default=radius_default, show_default=radius_default is not None,
                      help="Service radius in metres" + ("" if radius_default else
                                                         " (default 1000; with --distance network 1125, 15 minutes' walk)") + ".")(fn)
    return click.option("--layers", default="outlines,stations,coverage", show_default=True,
                        help="Comma-separated: outlines, stations, coverage, gaps, recommended.")(fn)


@click.command("print")
@click.option("--area", default="yunnan", show_default=True,
              help="yunnan, a prefecture or county: adcode (530100, 530102) or name (昆明市, 五华区, kunming, wuhua).")
@click.option("--paper", default="A4", show_default=True, help="A4 or A3.")
@click.option("--orientation", default="portrait", show_default=True, help="portrait or landscape.")
@lambda fn: _content_options(fn, radius_default=None)
@click.option("--dpi", default="200", show_default=True, help="Resolution of a PNG (50-600).")
@DISTANCE
@click.option("--out", required=True, help="Output file: .pdf (vector, fonts embedded) or .png.")
def print_cmd(area, paper, orientation, layers, radius, symbols, dpi, distance, out):
    """Print one map sheet (打印工会驿站分布图) of the province, a prefecture or a county."""
    from stations import cartography, sheet_layers

    path = _check_out(out, (".pdf", ".png"))
    net = require_network() if distance == "network" else None  # on foot: "15分钟步行（街道网络）" (issue 13)
    if radius is None:
        radius = f"{radius_for(distance, None):g}"
    req = _run(lambda: cartography.validate(area, paper, orientation, layers, radius, symbols))
    dpi_v = _run(lambda: cartography.parse_dpi(dpi))
    t0 = time.perf_counter()
    _run(lambda: sheet_layers.check_budget(req.radius, req.layers, _max_pairs()))
    info = _run(lambda: cartography.make_sheet(req.area, req.paper, req.orientation, req.layers, req.radius, path, dpi=dpi_v,
                                               symbols=req.symbols, context=sheet_layers.context(max_pairs=_max_pairs(), network=net)))
    size = path.stat().st_size
    click.echo(
        f"{info.title}: {path} ({size / 1024:.0f} KiB, {req.paper} {req.orientation}, "
        f"1:{info.scale_denominator:,}, {info.stations} stations) in {time.perf_counter() - t0:.1f} s"
    )
    for note in info.notes:
        click.echo(f"  注 / note: {note}")


@click.command("atlas")
@click.option("--area", default="yunnan", show_default=True,
              help="yunnan (the 17-page atlas of the prefectures) or a prefecture, adcode or name (530100, 昆明市, "
                   "kunming): its county atlas, each county's sheet followed by the table of its stations.")
@click.option("--paper", default="A4", show_default=True, help="A4 or A3.")
@lambda fn: _content_options(fn, radius_default=None)
@DISTANCE
@click.option("--out", default=None, help="Output PDF file [default: yunnan-atlas.pdf, or atlas-ADCODE.pdf for a prefecture].")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def atlas_cmd(area, paper, layers, radius, symbols, distance, out, no_progress):
    """Print an atlas (工会驿站分布图集): for the province, a cover with its map and the table of the 16
    prefectures, then one sheet per prefecture; for a prefecture, a cover with the table of its counties,
    then each county's sheet and its station table (paginated). With ``--distance network`` every sheet is
    measured on foot on the street network and says "15分钟步行（街道网络）"."""
    from stations import cartography, sheet_layers

    net = require_network() if distance == "network" else None  # a clear error without a network (issue 13)
    if radius is None:
        radius = f"{radius_for(distance, None):g}"
    area_v = _run(lambda: cartography.parse_atlas_area(area))
    if out is None:
        out = "yunnan-atlas.pdf" if area_v == cartography.PROVINCE_ADCODE else f"atlas-{area_v}.pdf"
    path = _check_out(out, (".pdf",))
    paper_v = _run(lambda: cartography.parse_paper(paper))
    layers_v = _run(lambda: cartography.parse_layers(layers))
    radius_v = _run(lambda: cartography.parse_radius(radius))
    symbols_v = _run(lambda: cartography.parse_symbols(symbols))
    _run(lambda: sheet_layers.check_budget(radius_v, layers_v, _max_pairs()))
    info = _run(lambda: cartography.make_atlas(paper_v, path, progress=not no_progress, area=area_v, layers=layers_v,
                                               radius=radius_v, symbols=symbols_v,
                                               context=sheet_layers.context(max_pairs=_max_pairs(), network=net)))
    click.echo(f"atlas: {path} ({info.pages} pages, {path.stat().st_size / 1024 / 1024:.1f} MiB) in {info.seconds:.1f} s")
