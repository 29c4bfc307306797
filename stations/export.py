"""Writing tables and layers to the formats users open: GeoPackage, GeoJSON, CSV and XLSX.

- GeoPackage opens in QGIS (layer name given, EPSG:4326).
- GeoJSON follows RFC 7946 (WGS-84 longitude/latitude, no ``crs`` member).
- CSV is UTF-8 with a byte-order mark so that Excel and WPS open Chinese text cleanly.
- XLSX via openpyxl.

Every writer writes to a temporary file beside the target and renames it into place, so an interrupted
export never leaves a half-written file under the target name.
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
                plain.to_csv(tmp, index=False, encoding="utf-8-sig")
            else:
                with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                    plain.to_excel(xw, index=False, sheet_name=sheet[:31])
    return out


def export_stations(gdf: gpd.GeoDataFrame, fmt: str | None, out: str | Path) -> Path:
    """Export the registry (``Registry.load()``) to ``out`` in ``fmt`` (or the format named by the suffix)."""
    fmt = format_from_path(out, fmt)
    return write_table(gdf, fmt, out, layer="stations", sheet="stations")
