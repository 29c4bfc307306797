"""The registry store: schema round trip, upsert by id, one transaction per write."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from stations.registry import Registry, RegistryError
from stations.schema import COLUMNS, SERVICE_KEYS


def _row(i: int, **kw) -> dict:
    base = {
        "id": f"T-{i:03d}",
        "name": f"测试驿站{i}",
        "address": "昆明市五华区示例路1号",
        "lon": 102.71 + i * 0.001,
        "lat": 25.04,
        "prefecture_adcode": "530100",
        "county_adcode": "530102",
        "host": "union",
        **{k: k in ("water", "charging") for k in SERVICE_KEYS},
        "opening_hours": "08:00-18:00",
        "hours_json": "{}",
        "phone": "0871-0012345",
        "status": "open",
        "source": "test",
    }
    base.update(kw)
    return base


@pytest.fixture
def reg(tmp_path):
    return Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")


def test_empty_registry_loads_as_empty_geodataframe(reg):
    gdf = reg.load()
    assert len(gdf) == 0
    assert list(gdf.columns[:-1]) == list(COLUMNS)
    assert gdf.crs.to_epsg() == 4326


def test_upsert_inserts_then_is_idempotent(reg):
    df = pd.DataFrame([_row(1), _row(2)])
    first = reg.upsert(df)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    stamp = reg.get("T-001")["updated_at"]
    again = reg.upsert(df)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert reg.get("T-001")["updated_at"] == stamp
    assert reg.count() == 2


def test_upsert_updates_changed_rows_only(reg):
    reg.upsert(pd.DataFrame([_row(1), _row(2)]))
    res = reg.upsert(pd.DataFrame([_row(1, name="改名驿站"), _row(2)]))
    assert (res.inserted, res.updated, res.unchanged) == (0, 1, 1)
    assert reg.get("T-001")["name"] == "改名驿站"


def test_load_gives_points_and_types(reg):
    reg.upsert(pd.DataFrame([_row(1, toilet=True)]))
    gdf = reg.load()
    assert gdf.geometry.iloc[0].x == pytest.approx(102.711)
    assert gdf["toilet"].dtype == bool and bool(gdf["toilet"].iloc[0])
    assert gdf["name"].iloc[0] == "测试驿站1"


def test_failed_write_leaves_registry_untouched(reg):
    reg.upsert(pd.DataFrame([_row(1)]))
    bad = pd.DataFrame([_row(2), _row(3, name=None)])  # NOT NULL violation on the second row
    bad.loc[1, "name"] = None
    with pytest.raises((sa.exc.IntegrityError, RegistryError)):
        # bypass the None->"" cleaning to force a database error mid-write
        with reg.engine.begin() as conn:
            from stations.schema import stations_table

            conn.execute(stations_table.insert(), [dict(_row(2), updated_at="x"), dict(_row(3), name=None, updated_at="x")])
    assert reg.count() == 1
    assert reg.get("T-002") is None


def test_duplicate_ids_in_one_write_are_refused(reg):
    with pytest.raises(RegistryError, match="duplicate"):
        reg.upsert(pd.DataFrame([_row(1), _row(1)]))
    assert reg.count() == 0


def test_database_url_from_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert Registry().url == url
