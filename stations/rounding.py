"""Rounding that keeps totals: shown figures that add up across county -> prefecture -> province.

Rounding every figure on its own makes a county column that sums to 1,000,004 under a province total of
1,000,000. Here the province figure is rounded half up, the prefectures are rounded by the largest remainder
method (Hamilton's: each to its floor or ceiling, the units left over to the largest fractional parts) so
that they add up to the rounded province, and each prefecture's counties likewise to their rounded
prefecture. Used by :func:`stations.coverage.round_table` for every table and download.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["largest_remainder", "round_half_up", "hierarchical_rounding", "round_within"]


def largest_remainder(values, total: float, digits: int = 0) -> np.ndarray:
    """``values`` (non-negative; NaN stays NaN) rounded to ``digits`` decimals so that they add up to ``total``
    (a number already rounded to ``digits``): each value goes to its floor or its ceiling, and the units left
    over go to the largest remainders (ties: the earlier value) -- Hamilton's method."""
    v = np.asarray(values, dtype=float)
    out = v.copy()
    ok = np.isfinite(v)
    if not ok.any():
        return out
    unit = 10.0 ** -digits
    x = v[ok] / unit
    f = np.floor(x + 1e-9)  # 2.9999999999 is 3
    k = int(min(max(round(total / unit - f.sum()), 0), len(x)))
    f[np.argsort(-(x - f), kind="stable")[:k]] += 1
    out[ok] = np.round(f * unit, digits)
    return out


def round_half_up(x: float, digits: int) -> float:
    unit = 10.0 ** -digits
    return float(np.round(math.floor(x / unit + 0.5 + 1e-9) * unit, digits))


def hierarchical_rounding(c: pd.DataFrame, province: str, columns) -> dict:
    """Rounded values of ``columns`` (``(name, decimals)`` pairs) of the county rows ``c`` (``adcode``,
    ``prefecture_adcode``) for every area, ``{column: {adcode: value}}``: the province rounded half up,
    the prefectures by :func:`largest_remainder` to the rounded province, each prefecture's counties to their
    rounded prefecture. So every table shows counties that add up to their prefecture and prefectures that
    add up to the province."""
    out: dict[str, dict[str, float]] = {}
    pref_of = c["prefecture_adcode"].astype(str).to_numpy()
    codes = c["adcode"].astype(str).to_numpy()
    prefs = np.unique(pref_of)
    for col, nd in columns:
        v = c[col].to_numpy(float)
        total = round_half_up(float(np.nansum(v)), nd)
        pv = np.array([np.nansum(v[pref_of == p]) for p in prefs])
        pr = largest_remainder(pv, total, nd)
        m = {province: total, **{str(p): float(x) for p, x in zip(prefs, pr)}}
        for p, target in zip(prefs, pr):
            ix = np.flatnonzero(pref_of == p)
            m.update({str(k): float(x) for k, x in zip(codes[ix], largest_remainder(v[ix], target, nd))})
        out[col] = m
    return out


def round_within(t: pd.DataFrame, col: str, nd: int) -> np.ndarray:
    """The same rounding for a table without the hierarchy attached: the rows' total rounded half up, then
    the groups of ``parent_adcode`` and their rows by largest remainder."""
    v = t[col].to_numpy(float)
    total = round_half_up(float(np.nansum(v)), nd)
    if "parent_adcode" not in t.columns or len(t) < 2:
        return largest_remainder(v, total, nd)
    parent = t["parent_adcode"].astype(str).to_numpy()
    groups = list(dict.fromkeys(parent))
    gr = largest_remainder(np.array([np.nansum(v[parent == g]) for g in groups]), total, nd)
    out = v.copy()
    for g, target in zip(groups, gr):
        ix = np.flatnonzero(parent == g)
        out[ix] = largest_remainder(v[ix], target, nd)
    return out
