"""Offline gazetteer: find Yunnan's prefectures, counties, townships, towns and old towns the way people type them.

The data is ``data/geo/places_gazetteer.csv``, built by ``scripts/build_places.py`` from the Tianditu divisions,
GeoNames (CC BY 4.0) points and Chinese alternate names, the NBS township list (names and kinds of townships,
no coordinates) and a short table of real other names (``places_aliases.csv``); see ``data/geo/SOURCES.md``.
Every point is WGS-84 (lon, lat in degrees): a GeoNames point, or for a division whose seat GeoNames lacks, a
point inside its polygon (``point_source`` says which). No coordinate is made up.

``search(q, limit=10)`` matches, case-insensitively and by prefix:

- Chinese characters, against the name, its other names (GeoNames' Chinese alternate names, NBS township
  names, 版纳 for 西双版纳) and the name with its administrative suffix stripped (市 县 区 州 自治州 自治县 and
  the named ethnic groups, 街道 镇 乡 for townships): ``昆`` and ``昆明`` find 昆明市, ``楚雄州`` finds
  楚雄彝族自治州, ``古城`` finds 古城区 and the old towns (丽江古城, 大理古城);
- full pinyin without tones, spaces or apostrophes (``kunming``, ``kunm``, ``puer``; ü as ``v`` or ``u``),
  including the English and GeoNames names (``shangrila``, ``chuxiongyi``);
- pinyin initials (``km`` for 昆明, ``xsbn`` for 西双版纳).

Ranking: exact matches before prefix matches; then prefectures, then county-level divisions, then old towns
(landmarks), then townships, then other settlements; then a match on the name before one on another name;
then shorter names; then id. A county-level city of the same name as its prefecture's seat (大理市 under
大理白族自治州) comes right after the prefecture with ``group`` set to the prefecture's id: one answer with its
sub-answer. Points of the same name within 5 km were merged by the build.

Each result is a dict with the fields of earlier versions (``name_zh``, ``name_en``, ``kind``, ``adcode``,
``lon``, ``lat``; ``kind`` keeps its values ``prefecture`` / ``county`` / ``town``, plus ``landmark``) and:
``id``; ``type``, one of :data:`TYPES` (the kind in detail: district, county, county_city, subdistrict, town,
township, place ...); ``kind_zh`` / ``kind_en``, its label (州 / 市 / 县 / 区 / 街道 / 镇 / 乡 / 居民点 / 景区 ...);
``county_adcode``, ``county_zh``, ``county_en``, ``prefecture_adcode``, ``prefecture_zh``, ``prefecture_en``
(the divisions it lies in; None for itself); ``name_zh_source`` (admin / nbs / geonames / alias / none);
``romanised`` (True when no Chinese name is known: show ``name_en``, marked as pinyin); ``group``;
``match`` (``exact`` / ``prefix``); ``matched`` (the other name the query matched, e.g. 版纳, else None); ``geonameid``; ``nbs_code``;
``point_source``. ``adcode`` is the division's code (for a town or landmark, its county's).

The index (sorted keys, binary search: no scan of the entries) is built once per geography and kept in it
(:meth:`stations.geo.Geography.cached`), so ``stations.geo.clear_cache()`` drops it too.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import geo

__all__ = ["search", "gazetteer", "clear_cache", "KINDS", "TYPES", "KIND_OF", "strip_zh", "latin_key", "pinyin_keys",
           "GAZETTEER_FILE"]

GAZETTEER_FILE = "places_gazetteer.csv"
# the answer's ``type`` (the kind in detail, as in the gazetteer file) and its ``kind`` (the values of earlier versions,
# plus landmark)
TYPES = ("prefecture", "district", "county", "county_city", "landmark", "subdistrict", "town", "township", "place")
KINDS = ("prefecture", "county", "town", "landmark")
KIND_OF = {
    "prefecture": "prefecture", "district": "county", "county": "county", "county_city": "county",
    "landmark": "landmark", "subdistrict": "town", "town": "town", "township": "town", "place": "town",
}
# ranking classes: prefectures, county-level, landmarks, townships, other settlements
_CLASS = {"prefecture": 0, "district": 1, "county": 1, "county_city": 1, "landmark": 2, "subdistrict": 3,
          "town": 3, "township": 3, "place": 4}

_CJK = re.compile(r"[\u3400-\u9fff]")
_ETHNIC = (
    "哈尼", "景颇", "傈僳", "拉祜", "纳西", "布朗", "独龙", "普米", "蒙古",
    "彝", "傣", "藏", "白", "壮", "苗", "瑶", "回", "佤", "怒",
)
_ADMIN_SUFFIXES = ("自治州", "自治县", "街道", "市", "县", "区", "州", "镇", "乡")
_EN_SUFFIX = re.compile(
    r"\s+(?:(?:[A-Z][a-z]+(?:,|\s+and)?\s+)*Autonomous\s+(?:Prefecture|County)|City|County|District|Town|Township|Old Town)$"
)
# generic words that name a kind of landmark: '古城' alone lists the old towns
_LANDMARK_WORDS = ("古城", "古镇", "公园", "火车站", "景区")


def strip_zh(name: str) -> str:
    """'楚雄彝族自治州' -> '楚雄', '五华区' -> '五华', '汤池镇' -> '汤池', '霞若傈僳族乡' -> '霞若', '芒市' -> '芒市'
    (a one-character stem is kept whole)."""
    s = name
    if s.endswith(("自治州", "自治县")) or (s.endswith("族乡") and len(s) > 4):
        s = s[:-3] if s.endswith(("自治州", "自治县")) else s[:-1]
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


def latin_key(text: str) -> str:
    """Lower-case ASCII letters only: 'Pu’er' -> 'puer', 'Lüchun' -> 'lvchun', 'Shangri-La' -> 'shangrila'."""
    t = text.lower().replace("ü", "v")
    t = unicodedata.normalize("NFKD", t)
    return re.sub(r"[^a-z]", "", t)


def pinyin_keys(text: str) -> tuple[str, str]:
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
    id: str
    type: str
    kind_zh: str
    kind_en: str
    name_zh: str
    name_en: str
    name_zh_source: str
    lon: float
    lat: float
    point_source: str
    adcode: str
    county_adcode: str
    prefecture_adcode: str
    geonameid: int | None
    nbs_code: str
    group: str
    aliases_zh: tuple[str, ...]
    aliases_en: tuple[str, ...]


@dataclass
class _Index:
    entries: list[_Entry]
    keys: list[str]  # sorted
    owners: list[tuple[int, int, str]]  # (entry, 0 name / 1 other name, the form that made the key) per key
    names: dict[str, tuple[str, str]]  # division adcode -> (name_zh, name_en)
    position: dict[str, int]  # entry id -> entry index


def _forms(e: _Entry) -> list[tuple[str, int, str]]:
    """(text to index, 0 name / 1 other name, the name it stands for) of an entry."""
    out: list[tuple[str, int, str]] = []
    for tier, names in ((0, [e.name_zh]), (1, list(e.aliases_zh))):
        for n in names:
            if not n:
                continue
            zh = {n, strip_zh(n)}
            if n.endswith("自治州"):
                zh.add(strip_zh(n) + "州")  # 楚雄州, 大理州: the usual short forms
            if e.type == "landmark":
                zh.update(w for w in _LANDMARK_WORDS if n.endswith(w) and n != w)
            out.extend((f, tier, n) for f in zh)
    for tier, names in ((0, [e.name_en]), (1, list(e.aliases_en))):
        for n in names:
            if not n:
                continue
            forms = [n, _EN_SUFFIX.sub("", n)]
            if tier == 0 and e.type == "prefecture" and e.name_zh.endswith("市"):
                forms.append(forms[-1] + " City")  # 'Kunming City' for the prefecture-level cities too
            out.extend((f, tier, n) for f in forms)
    return out


def _keys(text: str) -> set[str]:
    if _CJK.search(text):
        keys = {text}
        if not _is_generic(text):
            keys.update(k for k in pinyin_keys(text) if k)
        else:
            keys.add(pinyin_keys(text)[0])  # 'gucheng', not 'gc'
    else:
        keys = {latin_key(text)} - {""}
    return keys | {k.replace("v", "u") for k in keys if "v" in k and not _CJK.search(k)}


def _is_generic(text: str) -> bool:
    return text in _LANDMARK_WORDS


def _read(path: Path) -> list[_Entry]:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `python scripts/build_places.py` to build it")
    text = ["id", "type", "kind_zh", "kind_en", "name_zh", "name_en", "name_zh_source", "point_source", "adcode",
            "county_adcode", "prefecture_adcode", "geonameid", "nbs_code", "group", "aliases_zh", "aliases_en"]
    df = pd.read_csv(path, dtype={c: str for c in text}, keep_default_na=False, encoding="utf-8")
    unknown = set(df["type"]) - set(TYPES)
    if unknown:
        raise ValueError(f"{path}: unknown types {sorted(unknown)}")
    out = []
    for r in df.itertuples(index=False):
        out.append(_Entry(
            id=r.id, type=r.type, kind_zh=r.kind_zh, kind_en=r.kind_en, name_zh=r.name_zh, name_en=r.name_en,
            name_zh_source=r.name_zh_source, lon=float(r.lon), lat=float(r.lat), point_source=r.point_source,
            adcode=r.adcode, county_adcode=r.county_adcode, prefecture_adcode=r.prefecture_adcode,
            geonameid=int(r.geonameid) if r.geonameid else None, nbs_code=r.nbs_code, group=r.group,
            aliases_zh=tuple(a for a in r.aliases_zh.split("|") if a),
            aliases_en=tuple(a for a in r.aliases_en.split("|") if a),
        ))
    return out


def _index() -> _Index:
    """The search index of the current geography (built on first use, kept in the geography)."""
    g = geo.geography()
    return g.cached("places.index", lambda: _build_index(Path(g.data_dir) / GAZETTEER_FILE))


def _build_index(path: Path) -> _Index:
    entries = _read(path)
    pairs: list[tuple[str, int, int, str]] = []
    for i, e in enumerate(entries):
        best: dict[str, tuple[int, str]] = {}
        for text, tier, name in _forms(e):
            for k in _keys(text):
                if k not in best or tier < best[k][0]:
                    best[k] = (tier, name)
        pairs.extend((k, i, t, n) for k, (t, n) in best.items())
    pairs.sort()
    names = {e.adcode: (e.name_zh, e.name_en) for e in entries if e.id.startswith("adm:")}
    return _Index(entries, [p[0] for p in pairs], [(p[1], p[2], p[3]) for p in pairs], names,
                  {e.id: i for i, e in enumerate(entries)})


def _as_dict(e: _Entry, idx: _Index, how: tuple[int, int, str]) -> dict:
    county = e.county_adcode if KIND_OF[e.type] in ("town", "landmark") else ""  # the divisions it lies in
    pref = e.prefecture_adcode if e.type != "prefecture" else ""
    c_zh, c_en = idx.names.get(county, (None, None)) if county else (None, None)
    p_zh, p_en = idx.names.get(pref, (None, None)) if pref else (None, None)
    return {
        "id": e.id, "name_zh": e.name_zh, "name_en": e.name_en, "kind": KIND_OF[e.type], "type": e.type,
        "kind_zh": e.kind_zh, "kind_en": e.kind_en, "adcode": e.adcode, "lon": e.lon, "lat": e.lat,
        "county_adcode": e.county_adcode or None, "county_zh": c_zh, "county_en": c_en,
        "prefecture_adcode": e.prefecture_adcode or None, "prefecture_zh": p_zh, "prefecture_en": p_en,
        "name_zh_source": e.name_zh_source, "romanised": not e.name_zh, "group": e.group or None,
        "match": "exact" if how[0] == 0 else "prefix", "matched": how[2] if how[2] not in (e.name_zh, e.name_en) else None,
        "geonameid": e.geonameid, "nbs_code": e.nbs_code or None, "point_source": e.point_source,
    }


def search(q: str, limit: int = 10) -> list[dict]:
    """Places whose names (Chinese, pinyin, pinyin initials, English, other names) start with ``q`` (see the
    module docstring for the rules, the ranking and the fields). Returns at most ``limit`` dicts; ``[]`` for an
    empty or unmatched query."""
    if not isinstance(q, str) or limit is None or limit <= 0:
        return []
    key = _normalise_query(q)
    if not key or not (_CJK.search(key) or re.fullmatch(r"[a-z0-9]+", key)):
        return []
    idx = _index()
    best: dict[int, tuple[int, int, str]] = {}  # entry -> (0 exact / 1 prefix, 0 name / 1 other name, form)
    by_name: set[int] = set()  # entries whose own name matched too (no other name to show)
    lo = bisect.bisect_left(idx.keys, key)
    for j in range(lo, len(idx.keys)):
        k = idx.keys[j]
        if not k.startswith(key):
            break
        i, tier, form = idx.owners[j]
        cand = (0 if k == key else 1, tier, form)
        if i not in best or cand[:2] < best[i][:2]:
            best[i] = cand
        if tier == 0:
            by_name.add(i)
    ents = idx.entries

    def rank(i: int):
        e = ents[i]
        return (best[i][0], _CLASS[e.type], best[i][1], len(e.name_zh or e.name_en), e.id)

    order = sorted(best, key=rank)
    # a sub-answer (大理市) right after its prefecture (大理白族自治州) when both are answers
    present = set(order)
    sub_of: dict[int, int] = {}
    for i in order:
        parent = idx.position.get(ents[i].group) if ents[i].group else None
        if parent in present:
            sub_of[parent] = i
    children = set(sub_of.values())
    grouped: list[int] = []
    for i in order:
        if i in children:
            continue
        grouped.append(i)
        if i in sub_of:
            grouped.append(sub_of[i])
    return [_as_dict(ents[i], idx, best[i] if i not in by_name else best[i][:2] + (ents[i].name_zh,)) for i in grouped[: int(limit)]]


def gazetteer() -> list[dict]:
    """Every place as :func:`search` returns it (``match`` and ``matched`` None), plus ``keys``: the normalised
    forms it is found by (Chinese names and other names, stems, pinyin, initials, English), for a client that
    searches offline the same way (prefix match of the query, normalised as here, against ``keys``; ranking as in
    :func:`search`, whose class order is ``rank``: 0 prefecture, 1 county-level, 2 landmark, 3 township, 4 other)."""
    idx = _index()
    keys: list[set[str]] = [set() for _ in idx.entries]
    for k, (i, _, _) in zip(idx.keys, idx.owners):
        keys[i].add(k)
    out = []
    for i, e in enumerate(idx.entries):
        d = _as_dict(e, idx, (0, 0, e.name_zh))
        d.update(match=None, matched=None, rank=_CLASS[e.type], keys=sorted(keys[i]))
        out.append(d)
    return out


def clear_cache() -> None:
    """Forget the index of the current geography (``stations.geo.clear_cache()`` forgets it with the rest)."""
    geo.geography().forget("places.index")
