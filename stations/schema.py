"""The station registry schema: vocabularies, columns and the SQL table.

Every station row carries (see README "Station registry schema"):

============================  =====================================================================
column                        meaning
============================  =====================================================================
``id``                        stable identifier (string, e.g. ``YN-530102-0001``); upsert key
``name``                      station name (free text, stored as given, always escaped on output)
``address``                   street address
``lon``, ``lat``              WGS-84 (EPSG:4326) degrees; converted on import from GCJ-02 / BD-09
``prefecture_adcode``         6-digit code of the prefecture, derived by spatial join (never trusted)
``county_adcode``             6-digit code of the county, derived by spatial join (never trusted)
``host``                      a key of :data:`HOSTS`
service columns               one boolean per key of :data:`SERVICES`
``opening_hours``             the opening hours text as given (``24小时``, ``周一至周五 09:00-17:00`` ...)
``hours_json``                the parsed weekly form (:mod:`stations.hours`)
``phone``                     contact telephone
``status``                    a key of :data:`STATUSES`
``source``                    where the row came from (``synthetic-demo`` for the bundled demo set)
``updated_at``                ISO 8601 timestamp of the last change
``last_verified``             date (``YYYY-MM-DD``, Asia/Shanghai) an official last checked the station; ``""``
                              never
``version``                   1 when created, +1 on every change: the optimistic lock of edits
============================  =====================================================================

``updated_at``, ``last_verified`` and ``version`` are :data:`MANAGED_COLUMNS`: the registry keeps them, no
import file or form supplies them (:data:`DATA_COLUMNS` are the others).

Besides ``stations``: ``audit_log`` (every change to a station, :mod:`stations.audit`), ``reports``
(workers' problem reports, :mod:`stations.reports`), ``users`` (officials, :mod:`stations.users`),
``uploads`` (registry files waiting for an official to accept their preview, :mod:`stations.uploads`) and
``registry_state`` (the data versions a server process checks to see a change, bumped in the transaction
of every write). The tables are created and upgraded by the Alembic migrations in
``stations/migrations`` (:func:`stations.migrations.upgrade`), never by ``create_all``.
"""

from __future__ import annotations

import sqlalchemy as sa

# key -> (Chinese label, English label). Order is the display order.
SERVICES: dict[str, tuple[str, str]] = {
    "water": ("饮水", "Drinking water"),
    "charging": ("充电", "Phone charging"),
    "ebike": ("电动车充电", "E-bike charging"),
    "microwave": ("热饭", "Microwave / hot meal"),
    "toilet": ("如厕", "Toilet"),
    "seating": ("休息", "Seating / rest"),
    "first_aid": ("急救药箱", "First-aid kit"),
    "aircon": ("空调/取暖", "Air-conditioning / heating"),
    "wifi": ("无线网络", "Wi-Fi"),
}

HOSTS: dict[str, tuple[str, str]] = {
    "union": ("工会自建", "Union-built"),
    "bank": ("银行网点", "Bank branch"),
    "petrol": ("加油站", "Petrol station"),
    "shop": ("商铺", "Shop"),
    "telecom": ("通信营业厅", "Telecom shop"),
    "gov_hall": ("政务服务大厅", "Government service hall"),
    "community": ("社区服务中心", "Community centre"),
    "sanitation": ("环卫站点", "Sanitation depot"),
    "other": ("其他", "Other"),
}

STATUSES: dict[str, tuple[str, str]] = {
    "open": ("开放", "Open"),
    "temp_closed": ("暂停开放", "Temporarily closed"),
    "closed": ("已关闭", "Closed"),
}

SERVICE_KEYS: tuple[str, ...] = tuple(SERVICES)

#: what a worker can report about a station (key -> (zh, en)), in the order the finder offers them
REPORT_REASONS: dict[str, tuple[str, str]] = {
    "closed": ("关门", "Closed"),
    "no_water": ("没有饮用水", "No drinking water"),
    "no_power": ("不能充电", "No power for charging"),
    "microwave_broken": ("微波炉坏了", "Microwave broken"),
    "toilet_unavailable": ("厕所不能用", "Toilet unavailable"),
    "dirty": ("不干净", "Dirty"),
    "wrong_location": ("地图位置不对", "Wrong location on the map"),
    "other": ("其他", "Other"),
}

#: how an official resolves a report (key -> (zh, en)); ``open`` is a report not yet resolved
RESOLUTIONS: dict[str, tuple[str, str]] = {
    "fixed": ("已修复", "Fixed"),
    "confirmed_closed": ("确认关闭", "Confirmed closed"),
    "dismissed": ("驳回", "Dismissed"),
}

#: officials' roles (key -> (zh, en)): administrators change everything, editors the stations inside their
#: prefecture or county, viewers nothing
ROLES: dict[str, tuple[str, str]] = {
    "admin": ("管理员", "Administrator"),
    "editor": ("编辑", "Editor"),
    "viewer": ("查看", "Viewer"),
}

COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "address",
    "lon",
    "lat",
    "prefecture_adcode",
    "county_adcode",
    "host",
    *SERVICE_KEYS,
    "opening_hours",
    "hours_json",
    "phone",
    "status",
    "source",
    "updated_at",
    "last_verified",
    "version",
)

#: the columns the registry keeps itself (no file or form supplies them)
MANAGED_COLUMNS: tuple[str, ...] = ("updated_at", "last_verified", "version")
#: the columns a station record carries from a file or a form
DATA_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in MANAGED_COLUMNS)

DEMO_SOURCE = "synthetic-demo"

metadata = sa.MetaData()

stations_table = sa.Table(
    "stations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.String(400), nullable=False, default=""),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("prefecture_adcode", sa.String(6), nullable=False, index=True),
    sa.Column("county_adcode", sa.String(6), nullable=False, index=True),
    sa.Column("host", sa.String(20), nullable=False),
    *[sa.Column(key, sa.Boolean, nullable=False, default=False) for key in SERVICE_KEYS],
    sa.Column("opening_hours", sa.String(200), nullable=False),
    sa.Column("hours_json", sa.Text, nullable=False),
    sa.Column("phone", sa.String(40), nullable=False, default=""),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("last_verified", sa.String(10), nullable=False, default=""),
    sa.Column("version", sa.Integer, nullable=False, default=1),
)

#: the data versions (``stations``, ``reports``): +1 in the transaction of every write
registry_state_table = sa.Table(
    "registry_state",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("changed_at", sa.String(32), nullable=False),
)

audit_table = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.String(32), nullable=False, index=True),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # create, update, close, reopen, verify, delete, revert
    sa.Column("source", sa.String(20), nullable=False),  # form, upload, report, revert, cli, demo
    sa.Column("reason", sa.String(500), nullable=False, default=""),
    sa.Column("changes", sa.Text, nullable=False),  # JSON {field: [old, new]}
    sa.Column("before", sa.Text, nullable=True),  # JSON record, null for a creation
    sa.Column("after", sa.Text, nullable=True),  # JSON record, null for a deletion
    sa.Column("prefecture_adcode", sa.String(6), nullable=False, default="", index=True),
    sa.Column("county_adcode", sa.String(6), nullable=False, default="", index=True),
    sa.Column("old_prefecture_adcode", sa.String(6), nullable=False, default="", index=True),
    sa.Column("old_county_adcode", sa.String(6), nullable=False, default="", index=True),
    sa.Column("reverts", sa.Integer, nullable=True),
    sa.Column("batch", sa.String(40), nullable=True),
)

reports_table = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(64), nullable=False, index=True),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("text", sa.String(300), nullable=False, default=""),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),
    sa.Column("client", sa.String(64), nullable=False),  # salted hash of the client address, never the address
    sa.Column("status", sa.String(20), nullable=False, index=True),  # open or a key of RESOLUTIONS
    sa.Column("resolved_at", sa.String(32), nullable=True),
    sa.Column("resolved_by", sa.String(80), nullable=True),
    sa.Column("note", sa.String(500), nullable=False, default=""),
)

users_table = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("area", sa.String(6), nullable=False, default=""),  # an editor's prefecture or county adcode
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("password_changed_at", sa.String(32), nullable=False),
)

uploads_table = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("filename", sa.String(200), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending, applied, discarded
    sa.Column("payload", sa.Text, nullable=False),  # JSON: the valid rows and the versions they were compared with
)
