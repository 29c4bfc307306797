"""Reading a user's table file: station lists, demand points and candidate sites alike.

:func:`read_table` turns a CSV / TSV / TXT, XLSX, GeoJSON or GeoPackage file into a DataFrame of text
(every cell a ``str``, empty cells ``""``) whose **index is the row number as a spreadsheet shows it**:
the header is row 1, so the first data row is 2 (blank rows are dropped but keep their numbers). For
GeoJSON and GeoPackage the index is the feature number, counted from 1, and the point coordinates come
as the text columns ``__lon`` / ``__lat`` in EPSG:4326 degrees (a layer in another CRS is reprojected).

Delimited text comes from many hands, so nothing is assumed:

- **encoding**: a byte-order mark first (UTF-8; UTF-16 LE/BE, as Excel's "Unicode text" writes it), then
  strict UTF-8, then charset-normalizer's detector limited to what Chinese offices send (GB18030 -- a
  superset of GBK and GB2312 --, Big5, UTF-16 without a mark, Windows-1252; on a near tie the earlier
  of these wins, since very short files are ambiguous), then GB18030 as the last resort;
- **delimiter**: sniffed among ``,``, tab, ``;`` and ``|`` (the one that splits the header and keeps the
  rows as wide as the header).

Whatever cannot be read raises the :class:`~stations.errors.InputError` subclass the caller names
(``error=``), with ``param="file"`` and, where one applies, the row.

Budgets (issue 14): the rows of a file are counted before its cells become Python objects -- text lines after
decoding, an XLSX sheet's ``<dimension>`` and the zip directory's uncompressed sizes and compression ratios
(:func:`stations.budget.check_xlsx`, before openpyxl parses anything, so a zip bomb is refused in
milliseconds), a vector layer's feature count from its header -- and a file over ``max_rows`` (default
:data:`stations.limits.LIMITS` ``table_rows``) raises :class:`~stations.errors.LimitError` (HTTP 413). Rows
are counted again while an XLSX sheet is read (its ``<dimension>`` may be missing or false), and an optional
:class:`stations.budget.Deadline` is checked every 1,000 rows.

A text cell written by yizhan's exports with the spreadsheet-formula guard (``'=...``, ``'+86 ...``: see
:func:`stations.export.neutralise_formulas`) is read back without the guard's apostrophe, so an exported
table imports as it was.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import pandas as pd

from .budget import Deadline, check_deadline, check_rows, check_xlsx, count_lines
from .errors import ImportFileError, InputError
from .export import FORMULA_STARTS
from .limits import LIMITS, Limit

__all__ = [
    "TEXT_SUFFIXES", "XLSX_SUFFIXES", "VECTOR_SUFFIXES", "DELIMITERS",
    "TableMeta", "read_table", "decode_text", "sniff_delimiter", "feature_count", "FORMULA_STARTS",
]

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg")
DELIMITERS = (",", "\t", ";", "|")

#: encodings the detector may choose from, in order of preference on a near tie
DETECTOR_ENCODINGS = ("gb18030", "big5", "utf_16_le", "utf_16_be", "cp1252")
#: a detector result this much "messier" than the best one still counts as a tie
_CHAOS_TIE = 0.1
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_SNIFF_CHARS = 64 * 1024

Source = Union[str, Path, bytes]


@dataclass(frozen=True)
class TableMeta:
    """How a table file was read: ``name`` (the file name, for messages), ``kind`` (``csv`` for any
    delimited text, ``xlsx``, ``geojson``, ``json`` or ``gpkg``), the ``encoding`` and ``delimiter`` found
    for text, and ``crs_note`` when a vector layer was reprojected to EPSG:4326."""

    name: str
    kind: str
    encoding: str | None = None
    delimiter: str | None = None
    crs_note: str | None = None

    @property
    def is_vector(self) -> bool:
        return self.kind in ("geojson", "json", "gpkg")


# ---------------------------------------------------------------------------------------------
# text


def decode_text(raw: bytes) -> tuple[str, str] | None:
    """``(text, encoding)`` of a text file, or None when nothing fits (see the module docstring for the
    order: byte-order mark, strict UTF-8, the detector, GB18030)."""
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(enc), enc
            except UnicodeDecodeError:
                return None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    results = [m for m in from_bytes(raw, cp_isolation=list(DETECTOR_ENCODINGS)) if m.encoding in DETECTOR_ENCODINGS]
    if results:
        best = min(m.chaos for m in results)
        near = [m for m in results if m.chaos <= best + _CHAOS_TIE]
        choice = min(near, key=lambda m: DETECTOR_ENCODINGS.index(m.encoding))
        return str(choice), choice.encoding
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        return None


def _width(record: list[str]) -> int:
    """Fields in a record, not counting empty trailing ones (Excel pads rows with delimiters)."""
    n = len(record)
    while n and not record[n - 1].strip():
        n -= 1
    return n


def sniff_delimiter(text: str) -> str:
    """The delimiter of delimited text among :data:`DELIMITERS`. Of those that split the header into two or
    more fields: the one under which most rows of the first 64 KB are split too and hold nothing beyond the
    header's width; then the one giving the most header fields; then the first in :data:`DELIMITERS`.
    ``,`` when none splits the header (a one-column file)."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]  # no half row at the end
    best, best_key = ",", None
    for rank, d in enumerate(DELIMITERS):
        try:
            records = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d) if any(f.strip() for f in r)]
        except csv.Error:
            continue
        if not records or _width(records[0]) < 2:
            continue
        header, rows = len(records[0]), records[1:]
        share = sum(1 for r in rows if len(r) >= 2 and _width(r) <= header) / len(rows) if rows else 1.0
        key = (round(share, 2), _width(records[0]), -rank)
        if best_key is None or key > best_key:
            best, best_key = d, key
    return best


def _unique_headers(cells: list[str]) -> list[str]:
    """Header names as pandas makes them: ``Unnamed: i`` for a blank one, ``name.1`` for a repeat."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, c in enumerate(cells):
        name = c if c.strip() else f"Unnamed: {i}"
        base = name
        while name in seen:
            seen[base] += 1
            name = f"{base}.{seen[base]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def _frame(records: list[tuple[int, list[str]]], name: str, error: type[InputError]) -> pd.DataFrame:
    """A text DataFrame from ``(row number, cells)`` records, the first non-blank one being the header. Blank
    rows are dropped (the others keep their numbers); short rows are padded with ``""``; cells beyond the
    header make columns named as pandas names them (``Unnamed: i``), empty trailing ones are ignored."""
    records = [(n, cells) for n, cells in records if any(str(c).strip() for c in cells)]
    if not records:
        raise error(f"{name}: the file is empty", param="file")
    header = records[0][1]
    # trailing columns without a header are kept only when some row fills them
    used = max([_width(header)] + [_width(c) for _, c in records[1:]])
    columns = _unique_headers(list(header[:used]) + [""] * (used - len(header)))  # data without a header: "Unnamed: i"
    rows, index = [], []
    for n, cells in records[1:]:
        cells = list(cells[:used]) + [""] * max(0, used - len(cells))
        rows.append(cells)
        index.append(n)
    df = pd.DataFrame(rows, columns=columns, index=pd.Index(index, name="row"), dtype=object)
    return df.astype(str) if len(df) else df.astype(object)


def _unguard(cell: str) -> str:
    """A cell without the apostrophe yizhan's exports put before a formula-like start (``'=1+1`` -> ``=1+1``)."""
    return cell[1:] if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_STARTS else cell


def _read_text(raw: bytes, name: str, error: type[InputError], max_rows=None,
               deadline: Deadline | None = None) -> tuple[pd.DataFrame, TableMeta]:
    if not raw.strip():
        raise error(f"{name}: the file is empty", param="file")
    decoded = decode_text(raw)
    if decoded is None:
        raise error(f"{name}: cannot tell the text encoding (expected UTF-8, UTF-16 or GBK)", param="file")
    text, encoding = decoded
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise error(f"{name}: the file is empty", param="file")
    if max_rows is not None:  # before the CSV reader makes a list of strings of every line (~250 bytes a row)
        check_rows(count_lines(text.strip()) - 1, max_rows, name=name, what="lines after the header", error=error)
    delimiter = sniff_delimiter(text)
    records = []
    try:
        for k, r in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
            records.append((k, [_unguard(c) for c in r]))
            if deadline is not None and k % 1000 == 0:
                deadline.check(f"{k:,} rows read")
    except csv.Error as exc:
        raise error(f"{name}: not a well-formed CSV file: {exc}", param="file") from None
    del text
    return _frame(records, name, error), TableMeta(name, "csv", encoding=encoding, delimiter=delimiter)


# ---------------------------------------------------------------------------------------------
# workbooks


def _cell_text(v) -> str:
    """A workbook cell as text, the way ``pandas.read_excel(dtype=str)`` gives it (whole floats as integers)."""
    if v is None:
        return ""
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return str(int(v))
    return str(v)


def _read_xlsx(source, name: str, error: type[InputError], max_rows=None,
               deadline: Deadline | None = None) -> tuple[pd.DataFrame, TableMeta]:
    import openpyxl

    # the zip directory and the sheet's <dimension> first: a zip bomb or a million-row sheet is refused here
    check_xlsx(source, name=name, max_rows=max_rows, error=error, refuse=error)
    if hasattr(source, "seek"):
        source.seek(0)
    try:
        wb = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a corrupt file
        raise error(f"{name}: not a readable XLSX workbook: {exc}", param="file") from None
    try:
        if not wb.worksheets:
            raise error(f"{name}: the workbook has no sheet", param="file")
        ws = wb.worksheets[0]  # the first sheet, as pandas reads it
        # read the rows that are there: in read-only mode openpyxl trusts the sheet's <dimension>, dropping rows
        # beyond it (data lost without a word) or padding empty rows up to it; the rows are counted below instead
        ws.reset_dimensions()
        records = []
        for k, row in enumerate(ws.iter_rows(values_only=True), 1):
            records.append((k, [_cell_text(v) for v in row]))
            if k % 1000 == 0:
                if max_rows is not None:  # the <dimension> may be missing or false: count what is read
                    check_rows(k - 1, max_rows, name=name, what="rows read so far", error=error)
                check_deadline(deadline, f"{k:,} rows read")
        if max_rows is not None:
            check_rows(len(records) - 1, max_rows, name=name, error=error)
    except InputError:
        raise
    except Exception as exc:
        raise error(f"{name}: not a readable XLSX workbook: {exc}", param="file") from None
    finally:
        wb.close()
    return _frame(records, name, error), TableMeta(name, "xlsx")


# ---------------------------------------------------------------------------------------------
# points in GeoJSON / GeoPackage


def feature_count(source) -> int | None:
    """Features of a GeoJSON / GeoPackage layer from its header (pyogrio), or None when it cannot tell."""
    import pyogrio

    try:
        n = pyogrio.read_info(source).get("features")
    except Exception:  # noqa: BLE001 - the reader proper reports an unreadable file
        return None
    finally:
        if hasattr(source, "seek"):
            source.seek(0)
    return int(n) if n is not None and int(n) >= 0 else None


def _read_vector(source, name: str, suffix: str, error: type[InputError], max_rows=None) -> tuple[pd.DataFrame, TableMeta]:
    """Point features as text columns plus ``__lon`` / ``__lat`` (EPSG:4326), indexed by feature number."""
    import geopandas as gpd

    if max_rows is not None:
        n = feature_count(source)
        if n is not None:
            check_rows(n, max_rows, name=name, what="features", error=error)
    try:
        gdf = gpd.read_file(source)
    except Exception as exc:
        raise error(f"{name}: not a readable {suffix.lstrip('.')} file: {exc}", param="file") from None
    if len(gdf) == 0:
        raise error(f"{name}: the file holds no features", param="file")
    if gdf.geometry.isna().any() or (~gdf.geometry.is_empty & (gdf.geom_type != "Point")).any():
        bad = gdf.index[gdf.geometry.isna() | (gdf.geom_type != "Point")]
        first = int(bad[0]) + 1
        raise error(f"{name}: feature {first} is not a point ({gdf.geom_type.iloc[first - 1]}); "
                    "stations must be Point features", param="file", row=first)
    crs_note = None
    if gdf.crs is not None and gdf.crs.to_epsg() not in (4326, 4490):
        if gdf.crs.is_geographic:
            crs_note = f"reprojected from {gdf.crs.to_string()}"
        else:
            crs_note = f"reprojected from the projected CRS {gdf.crs.to_string()}"
        gdf = gdf.to_crs("EPSG:4326")
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object).where(lambda d: d.notna(), "")
    df = df.astype(str)
    df["__lon"] = gdf.geometry.x.map(repr)
    df["__lat"] = gdf.geometry.y.map(repr)
    df.index = pd.RangeIndex(1, len(df) + 1, name="row")
    return df, TableMeta(name, suffix.lstrip("."), crs_note=crs_note)


# ---------------------------------------------------------------------------------------------
# the one entry point


def read_table(source: Source, *, name: str | None = None, error: type[InputError] = ImportFileError,
               suffixes: tuple[str, ...] | None = None, max_rows: Limit | int | None = LIMITS["table_rows"],
               deadline: Deadline | None = None) -> tuple[pd.DataFrame, TableMeta]:
    """Read a user's table file into ``(table, meta)``.

    ``source`` is a path, or the file's bytes with ``name`` giving its file name (the suffix decides the
    format). ``table`` holds text only; its index is the row number as a spreadsheet shows it (header =
    row 1) or, for GeoJSON / GeoPackage, the feature number from 1 (see the module docstring). ``suffixes``
    limits the formats accepted (default: all). Problems raise ``error`` (an :class:`InputError` subclass,
    :class:`ImportFileError` unless told) with ``param="file"``. More than ``max_rows`` data rows (None: no
    limit), counted before parsing, raise :class:`~stations.errors.LimitError`; ``deadline`` bounds the reading.
    """
    allowed = suffixes or (TEXT_SUFFIXES + XLSX_SUFFIXES + VECTOR_SUFFIXES)
    if isinstance(source, (bytes, bytearray)):
        if not name:
            raise ValueError("read_table: give the file name with the bytes")
        raw: bytes | None = bytes(source)
        label, suffix = Path(name).name, Path(name).suffix.lower()
        where = io.BytesIO(raw)
    else:
        path = Path(source)
        if not path.exists():
            raise error(f"{path}: no such file", param="file")
        if path.is_dir():
            raise error(f"{path}: is a folder, not a file", param="file")
        raw = None
        label, suffix = name or path.name, path.suffix.lower()
        where = path
    if suffix not in allowed:
        kinds = ", ".join(k for k, s in (("CSV", ".csv"), ("TSV", ".tsv"), ("XLSX", ".xlsx"), ("GeoJSON", ".geojson"),
                                         ("GeoPackage", ".gpkg")) if s in allowed)
        raise error(f"{label}: unsupported file type '{suffix or '(none)'}'; use {kinds}", param="file")
    if suffix in TEXT_SUFFIXES:
        return _read_text(raw if raw is not None else Path(where).read_bytes(), label, error, max_rows, deadline)
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx(where, label, error, max_rows, deadline)
    return _read_vector(where, label, suffix, error, max_rows)
