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
============================  =====================================================================
"""

from __future__ import annotations

import sqlalchemy as sa

# key -> (Chinese label, English label). Order is the display order.
SERVICES: dict[str, tuple[str, str]] = {
    "water": ("饮水", "Drinking water"),
    "charging": ("充电", "Phone charging"),
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
)

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
)
