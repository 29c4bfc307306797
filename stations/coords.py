"""Conversions between WGS-84 and the Chinese obfuscated datums GCJ-02 and BD-09.

Everything yizhan stores and computes with is WGS-84 (EPSG:4326, (lon, lat) order in code).
GCJ-02 ("Mars coordinates", 火星坐标) and BD-09 (Baidu) exist only at the edges of the system:

* **import**: station lists copied from Amap (高德) or Tencent maps are GCJ-02, lists copied
  from Baidu maps are BD-09; they are converted to WGS-84 on the way in (``convert_to_wgs84``);
* **navigation links**: deep links into Amap/Baidu apps want their own datum;
* **Chinese tile providers**: Amap/Tianditu-GCJ tiles are drawn in GCJ-02, so markers drawn on
  them must be shifted.

GCJ-02 is WGS-84 plus a published, deterministic but non-linear offset of a few hundred metres
(the widely circulated reverse-engineered formula, identical to the ``eviltransform`` /
``coordtransform`` libraries). Outside China the offset is not applied (``out_of_china``, the
standard bounding-box rule). BD-09 is a further rotation/scaling of GCJ-02.

The inverse GCJ-02 -> WGS-84 has no closed form; ``gcj02_to_wgs84`` solves it by fixed-point
iteration (the forward offset varies slowly, so each step gains several digits), converging to
about 1e-9 degree, i.e. well under a millimetre.

All functions take and return ``(lon, lat)``; arguments may be Python scalars or numpy arrays
(any broadcastable shapes). Scalar input gives a pair of Python floats, array input a pair of
float64 arrays.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "CRS_NAMES",
    "out_of_china",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "convert_to_wgs84",
]

# Krasovsky 1940 ellipsoid as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

CRS_NAMES = ("wgs84", "gcj02", "bd09")

_INVERSE_TOL = 1e-10  # degrees
_INVERSE_MAX_ITER = 30


def _as_arrays(lon, lat):
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return lon, lat, scalar


def _result(lon, lat, scalar):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def out_of_china(lon, lat):
    """True where the point lies outside the GCJ-02 box (72.004–137.8347 E, 0.8293–55.8271 N).

    This is the standard rule of the published GCJ-02 implementations: outside the box the
    offset is not applied, so WGS-84 and GCJ-02 coincide. Returns a bool or a bool array.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    res = _out_of_china(lon_a, lat_a)
    return bool(res) if scalar else res


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * math.pi) + 320.0 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS-84 point (lon, lat); zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    dlat = _transform_lat(x, y)
    dlon = _transform_lon(x, y)
    rad_lat = lat / 180.0 * math.pi
    magic = np.sin(rad_lat)
    magic = 1.0 - _EE * magic * magic
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * math.pi)
    outside = _out_of_china(lon, lat)
    dlon = np.where(outside, 0.0, dlon)
    dlat = np.where(outside, 0.0, dlat)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """WGS-84 (lon, lat) -> GCJ-02 (lon, lat). Points outside China are returned unchanged."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    dlon, dlat = _gcj_delta(lon_a, lat_a)
    return _result(lon_a + dlon, lat_a + dlat, scalar)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 (lon, lat) -> WGS-84 (lon, lat), the exact inverse of ``wgs84_to_gcj02``.

    Fixed-point iteration ``w <- w - (f(w) - g)`` starting from ``w = g``; stops when every
    point moved less than 1e-10 degree (normally 3–5 iterations). The round trip
    ``wgs84_to_gcj02(gcj02_to_wgs84(g)) == g`` holds to ~1e-10 degree (< 0.1 mm).
    """
    glon, glat, scalar = _as_arrays(lon, lat)
    glon, glat = np.broadcast_arrays(glon, glat)
    wlon = glon.copy()
    wlat = glat.copy()
    for _ in range(_INVERSE_MAX_ITER):
        dlon, dlat = _gcj_delta(wlon, wlat)
        elon = wlon + dlon - glon
        elat = wlat + dlat - glat
        wlon = wlon - elon
        wlat = wlat - elat
        with np.errstate(invalid="ignore"):
            worst = np.nanmax(np.maximum(np.abs(elon), np.abs(elat)), initial=0.0)
        if not worst > _INVERSE_TOL:  # also stops on all-NaN input
            break
    return _result(wlon, wlat, scalar)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 (lon, lat) -> BD-09 (lon, lat) (Baidu's published formula)."""
    x, y, scalar = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _result(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006, scalar)


def _bd09_to_gcj02_approx(blon: np.ndarray, blat: np.ndarray):
    x = blon - 0.0065
    y = blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon, lat):
    """BD-09 (lon, lat) -> GCJ-02 (lon, lat), the exact inverse of ``gcj02_to_bd09``.

    Starts from the widely published closed-form approximation (which is off by up to about
    1e-6 degree, ~0.1 m) and refines it by fixed-point iteration to ~1e-10 degree.
    """
    blon, blat, scalar = _as_arrays(lon, lat)
    blon, blat = np.broadcast_arrays(blon, blat)
    glon, glat = _bd09_to_gcj02_approx(blon, blat)
    for _ in range(_INVERSE_MAX_ITER):
        flon, flat = gcj02_to_bd09(glon, glat)
        elon = np.asarray(flon) - blon
        elat = np.asarray(flat) - blat
        glon = glon - elon
        glat = glat - elat
        with np.errstate(invalid="ignore"):
            worst = np.nanmax(np.maximum(np.abs(elon), np.abs(elat)), initial=0.0)
        if not worst > _INVERSE_TOL:
            break
    return _result(glon, glat, scalar)


def wgs84_to_bd09(lon, lat):
    """WGS-84 (lon, lat) -> BD-09 (lon, lat), via GCJ-02."""
    glon, glat = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(glon, glat)


def bd09_to_wgs84(lon, lat):
    """BD-09 (lon, lat) -> WGS-84 (lon, lat), via GCJ-02 (iterative GCJ inverse)."""
    glon, glat = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(glon, glat)


def convert_to_wgs84(lon, lat, crs: str):
    """Convert (lon, lat) given in ``crs`` ("wgs84", "gcj02" or "bd09") to WGS-84.

    ``crs`` is case-insensitive and ignores "-" / "_" ("GCJ-02", "bd_09" are accepted).
    Raises ValueError for any other datum name.
    """
    key = str(crs).strip().lower().replace("-", "").replace("_", "")
    if key == "wgs84":
        lon_a, lat_a, scalar = _as_arrays(lon, lat)
        lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
        return _result(lon_a.copy(), lat_a.copy(), scalar)
    if key == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(
        f"unknown coordinate system {crs!r}: expected one of 'wgs84', 'gcj02' "
        "(Amap/Tencent), 'bd09' (Baidu)"
    )
