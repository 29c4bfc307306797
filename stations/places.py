"""Offline gazetteer: find Yunnan's prefectures, counties and GeoNames towns by Chinese or pinyin name.

``search(q, limit=10)`` matches, case-insensitively and by prefix:

- Chinese characters, against the full name and the name with its administrative suffix stripped
  (市 县 区 州 自治州 自治县 and the named ethnic groups, 镇 乡 for towns): ``昆`` and ``昆明`` find 昆明市,
  ``楚雄州`` finds 楚雄彝族自治州;
- full pinyin without tones, spaces or apostrophes (``kunming``, ``kunm``, ``puer``; ü as ``v`` or ``u``),
  including the English name (``shangrila``, ``chuxiongyi``);
- pinyin initials (``km`` for 昆明, ``xsbn`` for 西双版纳).

Ranking: exact matches before prefix matches; then prefectures before counties before towns; then shorter
names; then adcode. Each result is a dict ``{"name_zh", "name_en", "kind", "adcode", "lon", "lat"}`` where
``kind`` is ``"prefecture"``, ``"county"`` or ``"town"``, ``adcode`` is the division's code (for a town, its
county's), and (``lon``, ``lat``) is a WGS-84 point in degrees: the seat when it is among the GeoNames places,
otherwise a point inside the polygon (``representative_point``). The index is built once per geography and
kept in it (:meth:`stations.geo.Geography.cached`), so ``stations.geo.clear_cache()`` drops it too.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

from . import geo

__all__ = ["search", "KINDS"]

KINDS = ("prefecture", "county", "town")
_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}

_CJK = re.compile(r"[\u3400-\u9fff]")
_ETHNIC = (
    "哈尼", "景颇", "傈僳", "拉祜", "纳西", "布朗", "独龙", "普米",
    "彝", "傣", "藏", "白", "壮", "苗", "瑶", "回", "佤", "怒",
)
_ADMIN_SUFFIXES = ("自治州", "自治县", "街道", "市", "县", "区", "州", "镇", "乡")
_EN_SUFFIX = re.compile(
    r"\s+(?:(?:[A-Z][a-z]+(?:,|\s+and)?\s+)*Autonomous\s+(?:Prefecture|County)|City|County|District|Town|Township|Old Town)$"
)

# The seat of each prefecture, as the Chinese name of a GeoNames place inside it (the prefecture-level
# cities are seated in the city of the same name; the autonomous prefectures in their capital city).
PREFECTURE_SEATS = {
    "530100": "昆明", "530300": "曲靖", "530400": "玉溪", "530500": "保山", "530600": "昭通", "530700": "丽江",
    "530800": "普洱", "530900": "临沧", "532300": "楚雄", "532500": "蒙自", "532600": "文山", "532800": "景洪",
    "532900": "大理", "533100": "芒市", "533300": "泸水", "533400": "香格里拉",
}


def _strip_zh(name: str) -> str:
    """'楚雄彝族自治州' -> '楚雄', '五华区' -> '五华', '芒市' -> '芒市' (a one-character stem is kept whole)."""
    s = name
    if s.endswith(("自治州", "自治县")):
        s = s[:-3]
        changed = True
        while changed:
            changed = False
            for e in _ETHNIC:
                if s.endswith(e + "族") and len(s) > len(e) + 2:
                    s = s[: -len(e) - 1]
                    changed = True
                    break
        return s
    for suf in _ADMIN_SUFFIXES:
        if s.endswith(suf) and len(s) >= len(suf) + 2:
            return s[: -len(suf)]
    return s


def _latin(text: str) -> str:
    """Lower-case ASCII letters only: 'Pu’er' -> 'puer', 'Lüchun' -> 'lvchun', 'Shangri-La' -> 'shangrila'."""
    t = text.lower().replace("ü", "v")
    t = unicodedata.normalize("NFKD", t)
    return re.sub(r"[^a-z]", "", t)


def _pinyin(text: str) -> tuple[str, str]:
    """(full pinyin without tones, initials) of the Chinese characters in ``text``."""
    from pypinyin import Style, lazy_pinyin

    syl = [s for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if s]
    return "".join(syl).lower(), "".join(s[0] for s in syl).lower()


def _normalise_query(q: str) -> str:
    q = unicodedata.normalize("NFKC", q).strip().lower()
    q = q.replace("ü", "v")
    return re.sub(r"[\s'’‘`\-·・.,，。]+", "", q)


@dataclass(frozen=True)
class _Entry:
    name_zh: str
    name_en: str
    kind: str
    adcode: str
    lon: float
    lat: float

    def as_dict(self) -> dict:
        return {
            "name_zh": self.name_zh, "name_en": self.name_en, "kind": self.kind,
            "adcode": self.adcode, "lon": self.lon, "lat": self.lat,
        }


def _keys(name_zh: str, name_en: str) -> set[str]:
    keys: set[str] = set()
    zh_forms = {f for f in (name_zh, _strip_zh(name_zh)) if f}
    if name_zh.endswith("自治州"):
        zh_forms.add(_strip_zh(name_zh) + "州")  # 楚雄州, 大理州: the usual short forms
    for f in zh_forms:
        keys.add(f)
        full, initials = _pinyin(f)
        for k in (full, initials):
            if k:
                keys.add(k)
                if "v" in k:
                    keys.add(k.replace("v", "u"))
    if name_en:
        forms = [name_en, _EN_SUFFIX.sub("", name_en)]
        if name_zh.endswith("市"):
            forms.append(forms[-1] + " City")  # 'Kunming City' for the prefecture-level cities too
        for f in forms:
            k = _latin(f)
            if k:
                keys.add(k)
                if "v" in k:
                    keys.add(k.replace("v", "u"))
    return keys


def _seat_points(g: geo.Geography):
    """Seat coordinates found among the GeoNames places of ``g``: ({prefecture adcode: (lon, lat)},
    {county adcode: (lon, lat)})."""
    places = g.places
    counties = g.counties
    by_county: dict[str, list] = {}
    for p in places.itertuples(index=False):
        by_county.setdefault(str(p.county_adcode), []).append(p)

    def match(p, stem_zh: str) -> int:
        """0: Chinese name matches, 1: romanised name matches, 2: no match."""
        zh = str(p.name_zh or "")
        if zh and (zh == stem_zh or _strip_zh(zh) == stem_zh or zh.rstrip("市县镇") == stem_zh):
            return 0
        en = _latin(_EN_SUFFIX.sub("", str(p.name_en or "")))
        return 1 if en and en == _pinyin(stem_zh)[0] else 2

    county_seat: dict[str, tuple[float, float]] = {}
    for c in counties.itertuples(index=False):
        stem = _strip_zh(c.name_zh)
        cands = sorted(((match(p, stem), p.geonameid, p) for p in by_county.get(c.adcode, [])), key=lambda t: t[:2])
        if cands and cands[0][0] < 2:
            p = cands[0][2]
            county_seat[c.adcode] = (float(p.lon), float(p.lat))

    pref_seat: dict[str, tuple[float, float]] = {}
    for code, seat in PREFECTURE_SEATS.items():
        mine = places[places["prefecture_adcode"].astype(str) == code]
        cands = sorted(((match(p, seat), p.geonameid, p) for p in mine.itertuples(index=False)), key=lambda t: t[:2])
        if cands and cands[0][0] < 2:
            p = cands[0][2]
            pref_seat[code] = (float(p.lon), float(p.lat))
    return pref_seat, county_seat


@dataclass
class _Index:
    entries: list[_Entry]
    keys: list[str]  # sorted
    owners: list[int]  # entry index of each key


def _index() -> _Index:
    """The search index of the current geography (built on first use, kept in the geography)."""
    g = geo.geography()
    return g.cached("places.index", lambda: _build_index(g))


def _build_index(g: geo.Geography) -> _Index:
    pref_seat, county_seat = _seat_points(g)
    entries: list[_Entry] = []
    pairs: list[tuple[str, int]] = []

    def add(entry: _Entry) -> None:
        i = len(entries)
        entries.append(entry)
        pairs.extend((k, i) for k in _keys(entry.name_zh, entry.name_en))

    for frame, kind, seats in ((g.prefectures, "prefecture", pref_seat), (g.counties, "county", county_seat)):
        for row in frame.itertuples(index=False):
            code = str(row.adcode)
            if code in seats:
                lon, lat = seats[code]
            else:
                rp = row.geometry.representative_point()
                lon, lat = rp.x, rp.y
            add(_Entry(str(row.name_zh), str(row.name_en), kind, code, round(float(lon), 6), round(float(lat), 6)))
    for p in g.places.itertuples(index=False):
        add(_Entry(str(p.name_zh or ""), str(p.name_en or ""), "town", str(p.county_adcode), float(p.lon), float(p.lat)))
    pairs.sort()
    return _Index(entries, [k for k, _ in pairs], [i for _, i in pairs])


def search(q: str, limit: int = 10) -> list[dict]:
    """Places whose Chinese name, pinyin, pinyin initials or English name start with ``q`` (see the module
    docstring for the rules and ranking). Returns at most ``limit`` dicts; ``[]`` for an empty or
    unmatched query."""
    if not isinstance(q, str) or limit is None or limit <= 0:
        return []
    key = _normalise_query(q)
    if not key or not (_CJK.search(key) or re.fullmatch(r"[a-z0-9]+", key)):
        return []
    idx = _index()
    best: dict[int, int] = {}  # entry -> 0 exact, 1 prefix
    lo = bisect.bisect_left(idx.keys, key)
    for j in range(lo, len(idx.keys)):
        k = idx.keys[j]
        if not k.startswith(key):
            break
        rank = 0 if k == key else 1
        i = idx.owners[j]
        if rank < best.get(i, 2):
            best[i] = rank
    order = sorted(
        best,
        key=lambda i: (best[i], _KIND_ORDER[idx.entries[i].kind], len(idx.entries[i].name_zh or idx.entries[i].name_en), idx.entries[i].adcode, i),
    )
    return [idx.entries[i].as_dict() for i in order[: int(limit)]]

