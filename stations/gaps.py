"""Coverage gaps: contiguous uncovered demand as polygons, largest first.

Works on a :class:`stations.coverage.CoverageResult` (its ``demand`` frame with ``covered``, ``distance_m``
and ``nearest_station``); :mod:`stations.coverage` re-exports :func:`find_gaps`. Polygons are unions of
H3 cells in WGS-84 (EPSG:4326); areas in km² from :data:`stations.geo.EQUAL_AREA_CRS`; distances are
geodesic metres.
"""

from __future__ import annotations

import math
from typing import Callable

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .geo import EQUAL_AREA_CRS
from .proximity import ecef

__all__ = ["GAP_COLUMNS", "find_gaps"]

GAP_COLUMNS = (
    "rank", "uncovered_workers", "cells", "area_km2", "county_adcode", "prefecture_adcode", "nearest_station_m",
    "nearest_station", "mean_distance_m", "lon", "lat",
)


def find_gaps(result, limit: int | None = None, min_workers: float = 0.0, progress: Callable | None = None,
              deadline=None) -> gpd.GeoDataFrame:
    """Contiguous uncovered demand as polygons (unions of the H3 cells holding uncovered demand; cells are
    contiguous when they share an edge and lie in the same county, so a gap never straddles a county
    border), ranked by uncovered workers, largest first. Each gap carries
    ``rank``, ``uncovered_workers``, ``cells``, ``area_km2``, ``county_adcode`` (the county holding most of
    its uncovered workers), ``prefecture_adcode``, ``nearest_station_m`` (geodesic distance from its
    nearest demand point to the nearest active station), the nearest station id, the
    worker-weighted mean distance of its uncovered workers to the nearest active station
    (``mean_distance_m``) and a point for labels (``lon``, ``lat``: the worker-weighted centre, or a point
    inside the polygon when that centre falls outside it, as in a ring around a covered core).

    ``deadline`` (a :class:`stations.budget.Deadline`) is checked between the steps and while the polygons are
    built; past it, :class:`stations.errors.TimeLimitError`."""
    d = result.demand
    un = d.loc[~d["covered"].to_numpy() & (d["workers"].to_numpy(float) > 0)]
    cols = list(GAP_COLUMNS)
    if un.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs="EPSG:4326")
    cell_ids = un["h3"].to_numpy()
    # aggregate points sharing a cell
    agg = pd.DataFrame(
        {
            "h3": cell_ids,
            "w": un["workers"].to_numpy(float),
            "wx": un["workers"].to_numpy(float) * un["lon"].to_numpy(float),
            "wy": un["workers"].to_numpy(float) * un["lat"].to_numpy(float),
            "dist": un["distance_m"].to_numpy(float),
            "wd": un["workers"].to_numpy(float) * np.where(np.isfinite(un["distance_m"].to_numpy(float)), un["distance_m"].to_numpy(float), np.nan),
            "county": un["county_adcode"].astype(object).to_numpy(),
            "st": un["nearest_station"].astype(object).to_numpy(),
        }
    )
    agg["county"] = agg["county"].where(agg["county"].notna(), "")
    cells = (
        agg.groupby("h3", sort=True)
        .agg(w=("w", "sum"), wx=("wx", "sum"), wy=("wy", "sum"), wd=("wd", "sum"), dist=("dist", "min"), county=("county", "first"))
        .reset_index()
    )
    h3list = cells["h3"].tolist()
    index = {c: i for i, c in enumerate(h3list)}
    county_of = cells["county"].to_numpy(dtype=object)
    n = len(cells)
    # Neighbouring hexagons: centres one spacing apart (sqrt(3) x edge); the next ring is at least 1.73
    # spacings away, so pairs within 1.3 local spacings are exactly the edge-sharing neighbours.
    ll = np.array([h3.cell_to_latlng(c) for c in h3list]).reshape(-1, 2)
    spacing = np.sqrt(2.0 * np.array([h3.cell_area(c, unit="m^2") for c in h3list]) / math.sqrt(3.0))
    xyz = ecef(ll[:, 1], ll[:, 0])
    pairs = cKDTree(xyz).query_pairs(1.3 * float(spacing.max()), output_type="ndarray") if n > 1 else np.empty((0, 2), int)
    if len(pairs):
        a, b = pairs[:, 0], pairs[:, 1]
        dist = np.linalg.norm(xyz[a] - xyz[b], axis=1)
        keep = (dist <= 0.65 * (spacing[a] + spacing[b])) & (county_of[a] == county_of[b])  # split at county borders
        pairs = pairs[keep]
    if progress is not None:
        progress(n, n)
    _check(deadline, f"{n:,} uncovered cells joined")
    graph = sparse.csr_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    cells["gap"] = labels
    agg["gap"] = labels[agg["h3"].map(index).to_numpy()]

    g = cells.groupby("gap").agg(
        uncovered_workers=("w", "sum"), wx=("wx", "sum"), wy=("wy", "sum"), wd=("wd", lambda v: v.sum(min_count=1)),
        cells=("h3", "size"), nearest_station_m=("dist", "min"),
    )
    # dominant county per gap
    cw = agg[agg["county"] != ""].groupby(["gap", "county"])["w"].sum().reset_index()
    cw = cw.sort_values(["gap", "w"], ascending=[True, False]).drop_duplicates("gap").set_index("gap")["county"]
    g["county_adcode"] = cw.reindex(g.index).to_numpy()
    g["prefecture_adcode"] = [None if c is None or (isinstance(c, float) and np.isnan(c)) else str(c)[:4] + "00" for c in g["county_adcode"]]
    nearest_id = agg.sort_values("dist").drop_duplicates("gap").set_index("gap")["st"]
    g["nearest_station"] = nearest_id.reindex(g.index).to_numpy()
    g["lon"] = g["wx"] / g["uncovered_workers"]
    g["lat"] = g["wy"] / g["uncovered_workers"]
    g["mean_distance_m"] = g["wd"] / g["uncovered_workers"]
    g = g[g["uncovered_workers"] > min_workers].sort_values(["uncovered_workers", "cells"], ascending=[False, False])
    if limit is not None:
        g = g.head(int(limit))
    members = cells.groupby("gap")["h3"].apply(list)
    geoms = []
    for k, gap in enumerate(g.index):
        if k % 50 == 0:
            _check(deadline, f"{k:,} of {len(g):,} gap polygons drawn")
        shape = h3.cells_to_h3shape(members[gap])
        geoms.append(shapely.geometry.shape(shape.__geo_interface__))
    out = gpd.GeoDataFrame(g.reset_index(drop=True), geometry=geoms, crs="EPSG:4326")
    out["area_km2"] = out.geometry.to_crs(EQUAL_AREA_CRS).area.to_numpy() / 1e6
    out["rank"] = np.arange(1, len(out) + 1)
    out["nearest_station_m"] = out["nearest_station_m"].replace(np.inf, np.nan)
    # the worker-weighted centre of a ring-shaped gap can fall in the covered core: use a point inside
    centre = shapely.points(out["lon"].to_numpy(), out["lat"].to_numpy())
    outside = ~shapely.contains(out.geometry.to_numpy(), centre)
    if outside.any():
        rp = shapely.point_on_surface(out.geometry.to_numpy()[outside])
        out.loc[outside, "lon"] = shapely.get_x(rp)
        out.loc[outside, "lat"] = shapely.get_y(rp)
    return out[cols + ["geometry"]]


def _check(deadline, done: str) -> None:
    if deadline is not None:
        deadline.check(done)
