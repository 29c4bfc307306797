"""Writing tables and layers to the formats users open: GeoPackage, GeoJSON, CSV and XLSX.

- GeoPackage opens in QGIS (layer name given, EPSG:4326).
- GeoJSON follows RFC 7946 (WGS-84 longitude/latitude, no ``crs`` member).
- CSV is UTF-8 with a byte-order mark so that Excel and WPS open Chinese text cleanly.
- XLSX via openpyxl.

Every writer writes to a temporary file beside the target and renames it into place, so an interrupted
export never leaves a half-written file under the target name.

**No live formulas** (issue 14 §3, OWASP "CSV injection"): a station name, candidate id or rejected cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would run as a formula when the file is opened
in Excel, WPS or LibreOffice. Every CSV and XLSX yizhan writes goes through :func:`write_csv` /
:func:`write_xlsx` (the registry export, coverage tables, gaps, recommended sites, rejected rows, over HTTP and
on the command line alike):

- CSV: such text cells get a leading apostrophe (:func:`neutralise_formulas`), the spreadsheet convention for
  "this is text"; numbers are written as numbers (a negative number is not text and stays as it is). yizhan's
  own table reader takes the apostrophe off again, so an exported file imports as it was;
- XLSX: text is stored as text (a string cell, never a formula cell, which openpyxl would otherwise make of a
  value starting with ``=``) and such cells are marked with Excel's quote prefix, so the text reads exactly as
  it was and stays text when a person edits the cell.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
from stations.errors import ExportError  # noqa: F401 (re-exported: the classes live in stations.errors)

FORMATS = ("gpkg", "geojson", "csv", "xlsx")
#: what a spreadsheet would run as a formula at the start of a cell (OWASP)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _risky(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` in which every text cell (and column header) starting with one of
    :data:`FORMULA_STARTS` has a leading apostrophe: ``=1+1`` -> ``'=1+1``, ``-5`` (text) -> ``'-5``. Numeric
    columns are left alone (numbers stay numbers); the caller's frame is not changed."""
    out = df.copy()
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if col.dtype != object and not pd.api.types.is_string_dtype(col.dtype) and not isinstance(col.dtype, pd.CategoricalDtype):
            continue
        values = col.astype(object)
        mask = values.map(_risky).to_numpy(dtype=bool)
        if mask.any():
            fixed = values.to_numpy(dtype=object, copy=True)
            fixed[mask] = ["'" + v for v in fixed[mask]]
            out.isetitem(j, pd.Series(fixed, index=out.index, dtype=object))
    if any(_risky(c) for c in out.columns):
        out.columns = ["'" + c if _risky(c) else c for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, out: str | Path) -> Path:
    """``df`` as CSV (UTF-8 with BOM, CRLF line ends as Excel writes them) at ``out``, formula-like text
    neutralised (:func:`neutralise_formulas`). With CRLF line ends every field holding a carriage return or a
    line feed is quoted: with bare LF ends a CR inside a field was written unquoted, and a spreadsheet starts a
    new row there -- whose first cell could be a formula. Writes ``out`` itself; callers wanting an atomic
    write pass a temporary path (:func:`atomic_path`)."""
    neutralise_formulas(pd.DataFrame(df)).to_csv(out, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return Path(out)


def _mark_text(ws) -> None:
    """Cells of a sheet written by pandas: any formula openpyxl made of text becomes text again, and text that
    looks like a formula gets Excel's quote prefix."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f" or (cell.data_type in ("s", "inlineStr") and _risky(cell.value)):
                cell.data_type = "s"
                cell.quotePrefix = True


def write_xlsx(sheets: dict[str, pd.DataFrame], out: str | Path) -> Path:
    """Sheets (name -> frame, in order) as one XLSX workbook at ``out`` (openpyxl), with no formula cell: text
    stays text and reads as it was (see the module docstring). Geometry columns are dropped."""
    with pd.ExcelWriter(out, engine="openpyxl") as xw:
        for name, frame in sheets.items():
            if isinstance(frame, gpd.GeoDataFrame):
                frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
            frame.to_excel(xw, index=False, sheet_name=name[:31])
            _mark_text(xw.sheets[name[:31]])  # the header row too
    return Path(out)


def format_from_path(path: str | Path, fmt: str | None = None) -> str:
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise ExportError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "json":
        suffix = "geojson"
    if suffix not in FORMATS:
        raise ExportError(f"cannot tell the format from '{path}': use a .gpkg, .geojson, .csv or .xlsx name, or --format",
                          param="out")
    return suffix


@contextmanager
def atomic_path(out: str | Path):
    """Yield a temporary path in the target's folder; move it onto ``out`` only on success."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    os.unlink(tmp)  # some drivers refuse to overwrite; let them create it
    try:
        yield Path(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_table(df: pd.DataFrame, fmt: str, out: str | Path, *, layer: str = "data", sheet: str = "data") -> Path:
    """Write a table or GeoDataFrame; non-spatial formats drop the geometry column."""
    fmt = format_from_path(out, fmt)
    out = Path(out)
    with atomic_path(out) as tmp:
        if fmt in ("gpkg", "geojson"):
            if not isinstance(df, gpd.GeoDataFrame):
                raise ExportError(f"{fmt} needs a layer with geometry")
            gdf = df.to_crs("EPSG:4326") if df.crs is not None else df.set_crs("EPSG:4326")
            if fmt == "gpkg":
                gdf.to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio")
            else:
                gdf.to_file(tmp, driver="GeoJSON", engine="pyogrio", RFC7946="YES", WRITE_NAME="NO")
        else:
            plain = pd.DataFrame(df.drop(columns=df.geometry.name) if isinstance(df, gpd.GeoDataFrame) else df)
            if fmt == "csv":
                write_csv(plain, tmp)
            else:
                write_xlsx({sheet: plain}, tmp)
    return out


def export_stations(gdf: gpd.GeoDataFrame, fmt: str | None, out: str | Path) -> Path:
    """Export the registry (``Registry.load()``) to ``out`` in ``fmt`` (or the format named by the suffix)."""
    fmt = format_from_path(out, fmt)
    return write_table(gdf, fmt, out, layer="stations", sheet="stations")
