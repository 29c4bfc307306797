"""Reading station lists from CSV, XLSX, GeoJSON and GeoPackage files, with row-level validation.

Station lists arrive from union offices in many shapes: Chinese or English headers (名称 / 站点名称,
地址, 经度, 纬度, 开放时间, 服务项目, 联系电话, 承建单位 ...), services as separate yes/no columns or as one
list (``饮水、充电、热饭``), text in UTF-8, UTF-16 or GBK with any common delimiter (:mod:`stations.tables`),
coordinates copied from Amap/Tencent (GCJ-02) or Baidu (BD-09). :func:`read_stations` turns such a file
into rows of the registry schema (WGS-84 coordinates checked by :mod:`stations.validation`, county and
prefecture from the one point-in-county join) and a list of :class:`RowError` naming the row (as a
spreadsheet shows it: the header is row 1, the first station row 2; for GeoJSON/GeoPackage the first
feature is row 1), the column and the reason.

Nothing here writes to the registry: the caller decides, so a bad file never leaves a half-written store.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import geo, hours
from .errors import ImportFileError, RowError  # noqa: F401 (re-exported: the classes live in stations.errors)
from .schema import DATA_COLUMNS, HOSTS, SERVICE_KEYS, SERVICES, STATUSES
from .tables import read_table
from .validation import check_lonlat

NEAR_DUPLICATE_M = 50.0


@dataclass
class ImportResult:
    valid: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)
    rejected: pd.DataFrame | None = None
    rows_read: int = 0
    source_kind: str = ""
    #: the file row (as a spreadsheet shows it) of each row of ``valid``, in order
    valid_rows: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------------------------
# header vocabulary

def _norm(text: object) -> str:
    s = str(text).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s_\-（）()·.:：]+", "", s)


FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "站点编号", "驿站编号", "stationid", "代码"),
    "name": ("name", "名称", "站点名称", "驿站名称", "stationname", "站名"),
    "address": ("address", "地址", "详细地址", "站点地址", "addr"),
    "lon": ("lon", "lng", "long", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "opening_hours": ("openinghours", "hours", "开放时间", "营业时间", "服务时间", "开放时段"),
    "services": ("services", "service", "服务项目", "设施", "服务设施", "配套设施", "服务功能"),
    "phone": ("phone", "tel", "telephone", "联系电话", "电话", "联系方式"),
    "host": ("host", "承建单位", "依托单位", "建设单位", "站点类型", "类型", "hosttype"),
    "status": ("status", "状态", "运行状态"),
}

SERVICE_ALIASES: dict[str, tuple[str, ...]] = {
    "water": ("water", "drinkingwater", "饮水", "饮用水", "喝水", "热水", "开水", "直饮水"),
    "charging": ("charging", "phonecharging", "充电", "手机充电", "充电宝"),
    # e-bike charging is its own service: riders ask for it by name, and a phone charger does not do it
    "ebike": ("ebike", "e-bike", "ebikecharging", "e-bikecharging", "electricbikecharging", "电动车充电",
              "电瓶车充电", "电单车充电", "电动自行车充电", "充电桩", "电动车"),
    "microwave": ("microwave", "hotmeal", "热饭", "微波炉", "加热", "热餐", "餐食加热"),
    "toilet": ("toilet", "wc", "厕所", "卫生间", "如厕", "洗手间"),
    "seating": ("seating", "rest", "seat", "休息", "座椅", "休息区", "歇脚", "桌椅"),
    "first_aid": ("firstaid", "firstaidkit", "急救", "药箱", "医药箱", "急救药箱", "应急药箱", "急救箱"),
    "aircon": ("aircon", "airconditioning", "heating", "空调", "取暖", "冷暖", "空调取暖", "空调/取暖"),
    "wifi": ("wifi", "wi-fi", "无线网络", "无线网", "网络"),
}

TRUE_WORDS = {"1", "是", "有", "yes", "y", "true", "t", "√", "✓", "✔", "提供"}
FALSE_WORDS = {"0", "否", "无", "no", "n", "false", "f", "×", "✗", "", "不提供", "nan", "none", "-"}

HOST_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("union", ("union", "工会")),
    ("bank", ("bank", "银行", "信用社", "农商行", "邮储")),
    ("petrol", ("petrol", "加油站", "中石化", "中石油", "中海油", "石油", "石化")),
    ("telecom", ("telecom", "营业厅", "移动", "联通", "电信", "广电")),
    ("gov_hall", ("govhall", "政务", "便民服务中心", "服务大厅")),
    ("community", ("community", "社区", "街道", "居委会", "村委会")),
    ("sanitation", ("sanitation", "环卫")),
    ("shop", ("shop", "商铺", "商店", "便利店", "超市", "药店", "门店", "餐")),
    ("other", ("other", "其他")),
)

STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "open": ("open", "开放", "正常", "运行", "在用", "营业"),
    "temp_closed": ("tempclosed", "temporarilyclosed", "暂停", "暂停开放", "暂停服务", "维修", "临时关闭"),
    "closed": ("closed", "关闭", "已关闭", "撤销", "停用"),
}

_SPLIT_SERVICES = re.compile(r"[、,，;；/|+\s]+")


def _service_key(token: str) -> str | None:
    t = _norm(token)
    for key, aliases in SERVICE_ALIASES.items():
        if t in {_norm(a) for a in aliases} or t == _norm(SERVICES[key][0]) or t == _norm(SERVICES[key][1]):
            return key
    return None


def map_columns(columns) -> tuple[dict[str, str], dict[str, str]]:
    """Map file headers to schema fields. Returns (field -> header, service key -> header)."""
    fields: dict[str, str] = {}
    services: dict[str, str] = {}
    for col in columns:
        n = _norm(col)
        matched = False
        for fieldname, aliases in FIELD_ALIASES.items():
            if n in {_norm(a) for a in aliases} and fieldname not in fields:
                fields[fieldname] = col
                matched = True
                break
        if matched:
            continue
        key = _service_key(col)
        if key is not None and key not in services:
            services[key] = col
    return fields, services


# ---------------------------------------------------------------------------------------------
# row parsing

def _parse_bool(value: str) -> bool | None:
    v = _norm(value)
    if v in TRUE_WORDS:
        return True
    if v in FALSE_WORDS:
        return False
    return None


def parse_services(text: str) -> tuple[dict[str, bool], list[str]]:
    """Parse a services list like ``饮水、充电、热饭``. Returns (flags, unknown tokens)."""
    flags = {k: False for k in SERVICE_KEYS}
    unknown = []
    for token in _SPLIT_SERVICES.split(str(text)):
        if not token.strip():
            continue
        key = _service_key(token)
        if key is None:
            unknown.append(token.strip())
        else:
            flags[key] = True
    return flags, unknown


def parse_host(text: str) -> str:
    """Map a host description (承建单位) to a key of HOSTS; unknown descriptions are ``other``."""
    t = _norm(text)
    if not t:
        return "other"
    for key, (zh, en) in HOSTS.items():
        if t in (_norm(key), _norm(zh), _norm(en)):
            return key
    for key, words in HOST_RULES:
        if any(_norm(w) in t for w in words):
            return key
    return "other"


def parse_status(text: str) -> str | None:
    t = _norm(text)
    if not t:
        return "open"
    for key, (zh, en) in STATUSES.items():
        if t in (_norm(key), _norm(zh), _norm(en)):
            return key
    for key, words in STATUS_WORDS.items():
        if t in {_norm(w) for w in words}:
            return key
    return None


def stable_id(name: str, lon: float, lat: float) -> str:
    """An id derived from the name and the position rounded to ~1 m, so re-imports upsert."""
    digest = hashlib.sha1(f"{name.strip()}|{lon:.5f}|{lat:.5f}".encode()).hexdigest()[:10]
    return f"YN-{digest}"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object, limit: int) -> str:
    """Strip control characters and surrounding space; text is kept as given otherwise (escaped on output)."""
    s = _CONTROL.sub("", str(value)).strip()
    return s[:limit]


def read_stations(
    path: str | Path,
    crs: str = "wgs84",
    *,
    existing: pd.DataFrame | None = None,
    now_iso: str | None = None,
) -> ImportResult:
    """Read and validate a station file.

    Parameters
    ----------
    path: CSV / TSV / TXT (encoding and delimiter detected), XLSX, GeoJSON or GeoPackage, read by
        :func:`stations.tables.read_table`; rows are numbered as a spreadsheet shows them.
    crs: the coordinate system of the file's longitude/latitude: ``wgs84``, ``gcj02`` (Amap, Tencent)
        or ``bd09`` (Baidu). Coordinates are converted to WGS-84 (EPSG:4326). A GeoJSON/GeoPackage
        layer in a projected CRS is first reprojected to EPSG:4326 from its declared CRS.
    existing: the current registry (``Registry.load()``), used to flag near-duplicates of stored
        stations with another id.
    """
    if crs not in ("wgs84", "gcj02", "bd09"):
        raise ImportFileError(f"unknown coordinate system '{crs}': use wgs84, gcj02 or bd09", param="crs")
    table, meta = read_table(path)
    if len(table) == 0:
        raise ImportFileError(f"{meta.name}: the file has a header but no station rows")
    row_numbers = table.index.to_numpy(dtype=int)
    table = table.reset_index(drop=True)
    fields, service_cols = map_columns([c for c in table.columns if not str(c).startswith("__")])
    if "__lon" in table.columns and "lon" not in fields:
        fields["lon"], fields["lat"] = "__lon", "__lat"
    missing = [f for f in ("name", "lon", "lat") if f not in fields]
    if missing:
        wanted = {"name": "名称/name", "lon": "经度/lon", "lat": "纬度/lat"}
        raise ImportFileError(
            f"{meta.name}: missing required column(s) {', '.join(wanted[m] for m in missing)}; "
            f"found columns: {', '.join(map(str, table.columns[:20]))}"
        )
    if "opening_hours" not in fields:
        raise ImportFileError(f"{meta.name}: missing required column 开放时间/opening_hours")

    rows: list[dict] = []
    row_of: list[int] = []
    hdr = lambda f: {"__lon": "lon", "__lat": "lat"}.get(str(fields[f]), str(fields[f]))  # noqa: E731

    # coordinates: the one validator (numbers, swapped, degrees, converted to WGS-84, in a county of Yunnan)
    where = check_lonlat(table[fields["lon"]], table[fields["lat"]], row_numbers, (hdr("lon"), hdr("lat")), crs=crs)
    errors: list[RowError] = where.errors
    have = where.usable
    for i in range(len(table)):
        rec = table.iloc[i]
        rown = int(row_numbers[i])
        row_errors: list[RowError] = []
        name = clean_text(rec[fields["name"]], 200)
        if not name:
            row_errors.append(RowError(rown, hdr("name"), "station name is missing"))
        hours_text = clean_text(rec[fields["opening_hours"]], 200)
        hours_json = ""
        if not hours_text:
            row_errors.append(RowError(rown, hdr("opening_hours"), "opening hours are missing"))
        else:
            try:
                hours_json = hours.parse_hours(hours_text).to_json()
            except hours.HoursParseError as exc:
                row_errors.append(RowError(rown, hdr("opening_hours"), f"cannot read opening hours '{hours_text}': {exc}"))
        flags = {k: False for k in SERVICE_KEYS}
        if "services" in fields:
            parsed, unknown = parse_services(rec[fields["services"]])
            flags.update(parsed)
            for tok in unknown:
                row_errors.append(RowError(rown, hdr("services"), f"unknown service '{tok}' (known: {'、'.join(v[0] for v in SERVICES.values())})"))
        for key, col in service_cols.items():
            val = _parse_bool(rec[col])
            if val is None:
                row_errors.append(RowError(rown, str(col), f"expected yes/no (是/否), got '{rec[col]}'"))
            elif val:
                flags[key] = True
        status = parse_status(rec[fields["status"]]) if "status" in fields else "open"
        if status is None:
            row_errors.append(RowError(rown, hdr("status"), f"unknown status '{rec[fields['status']]}' (open/开放, temp_closed/暂停开放, closed/已关闭)"))
        station_id = clean_text(rec[fields["id"]], 64) if "id" in fields else ""
        rows.append(
            {
                "id": station_id,
                "name": name,
                "address": clean_text(rec[fields["address"]], 400) if "address" in fields else "",
                "host": parse_host(rec[fields["host"]]) if "host" in fields else "other",
                **flags,
                "opening_hours": hours_text,
                "hours_json": hours_json,
                "phone": clean_text(rec[fields["phone"]], 40) if "phone" in fields else "",
                "status": status or "open",
                "source": f"import:{Path(path).name}",
            }
        )
        row_of.append(rown)
        errors.extend(row_errors)

    county = np.array([c or "" for c in where.county], dtype=object)
    prefecture_of = dict(zip(geo.load_counties()["adcode"], geo.load_counties()["prefecture_adcode"]))
    for i, rec in enumerate(rows):
        rec["lon"] = round(float(where.lon[i]), 7) if have[i] else np.nan
        rec["lat"] = round(float(where.lat[i]), 7) if have[i] else np.nan
        rec["county_adcode"] = county[i]
        rec["prefecture_adcode"] = prefecture_of.get(county[i], "")
        if not rec["id"] and have[i] and rec["name"]:
            rec["id"] = stable_id(rec["name"], rec["lon"], rec["lat"])
        if now_iso:
            rec["updated_at"] = now_iso

    # duplicate ids within the file
    seen: dict[str, int] = {}
    for i, rec in enumerate(rows):
        if not rec["id"]:
            continue
        if rec["id"] in seen:
            errors.append(RowError(row_of[i], hdr("id") if "id" in fields else "id", f"duplicate id '{rec['id']}' (first used on row {seen[rec['id']]})"))
        else:
            seen[rec["id"]] = row_of[i]

    errors.extend(_near_duplicates(rows, row_of, have, hdr("name"), existing))

    bad_rows = {e.row for e in errors}
    good = [r for r, n in zip(rows, row_of) if n not in bad_rows]
    good_rows = [n for n in row_of if n not in bad_rows]
    valid = pd.DataFrame(good, columns=list(DATA_COLUMNS) + (["updated_at"] if now_iso else []))
    rejected = table.copy()
    rejected.insert(0, "row", row_numbers)
    reasons = {}
    for e in errors:
        reasons.setdefault(e.row, []).append(f"{e.column}: {e.reason}")
    rejected = rejected[rejected["row"].isin(bad_rows)].copy()
    rejected["reason"] = rejected["row"].map(lambda r: "; ".join(reasons[r]))
    rejected = rejected[[c for c in rejected.columns if not str(c).startswith("__")]]
    errors.sort(key=lambda e: (e.row, e.column))
    return ImportResult(valid=valid, errors=errors, rejected=rejected, rows_read=len(table), source_kind=meta.kind,
                        valid_rows=good_rows)


def _near_duplicates(rows, row_of, have, name_col, existing) -> list[RowError]:
    """Same (normalised) name within 50 m: in the file, or of a stored station with another id."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    out: list[RowError] = []
    by_name: dict[str, list[int]] = {}
    for i, rec in enumerate(rows):
        if have[i] and rec["name"]:
            by_name.setdefault(_norm(rec["name"]), []).append(i)
    for idxs in by_name.values():
        for a_pos, a in enumerate(idxs):
            for b in idxs[:a_pos]:
                if rows[a]["id"] == rows[b]["id"]:
                    continue
                _, _, d = geod.inv(rows[a]["lon"], rows[a]["lat"], rows[b]["lon"], rows[b]["lat"])
                if d <= NEAR_DUPLICATE_M:
                    out.append(RowError(row_of[a], name_col, f"near-duplicate of row {row_of[b]}: same name '{rows[a]['name']}' {d:.0f} m away"))
                    break
    if existing is not None and len(existing):
        stored = {}
        for sid, nm, lo, la in existing[["id", "name", "lon", "lat"]].itertuples(index=False):
            stored.setdefault(_norm(nm), []).append((sid, lo, la))
        for i, rec in enumerate(rows):
            if not have[i]:
                continue
            for sid, lo, la in stored.get(_norm(rec["name"]), []):
                if sid == rec["id"]:
                    continue
                _, _, d = geod.inv(rec["lon"], rec["lat"], lo, la)
                if d <= NEAR_DUPLICATE_M:
                    out.append(RowError(row_of[i], name_col, f"near-duplicate of stored station {sid}: same name {d:.0f} m away"))
                    break
    return out
