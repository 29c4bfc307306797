"""Building, storing and reusing the walking network; bad extracts are refused and the previous network stays.

All extracts are TEST DATA written here (``ExtractWriter``, labelled ``yizhan-synthetic`` in their header),
placed in Kunming unless a test needs them elsewhere.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from stations import network as N
from stations.errors import InputError, NetworkBuildError
from stations.network.synthetic import ExtractWriter


@pytest.fixture()
def var_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path / "var"))
    N.clear_cache()
    yield tmp_path / "var"
    N.clear_cache()


def block_map(origin=None, label="test data: four city blocks") -> ExtractWriter:
    """A 3 x 3 street grid, 200 m blocks (12 segments of 200 m = 2.4 km of streets)."""
    w = ExtractWriter(origin=origin, label=label) if origin else ExtractWriter(label=label)
    ids = [[w.node(x * 200, y * 200) for x in range(3)] for y in range(3)]
    for y in range(3):
        w.way(ids[y], highway="residential")
    for x in range(3):
        w.way([ids[y][x] for y in range(3)], highway="footway")
    w.grid = ids  # node ids by [row][column]
    return w


def test_no_network_means_straight_line(var_dir):
    assert N.load_network() is None
    assert N.status() == "straight-line distances: no street network loaded"
    assert N.status(lang="zh") == "直线距离：未加载街道网络"
    assert N.read_manifest() is None


def test_build_store_load_and_status(var_dir, tmp_path):
    path = block_map().write(tmp_path / "blocks.osm.pbf")
    res = N.build_network(path)
    assert not res.reused
    assert res.path == var_dir / "network" / "network.npz"
    m = res.manifest
    assert (m["nodes"], m["edges"]) == (9, 12)
    assert m["length_km"] == pytest.approx(2.4, abs=0.001)
    assert m["source"] == "blocks.osm.pbf" and len(m["sha256"]) == 64
    assert m["share_in_yunnan"] == 1.0
    assert 102.7 < m["bbox"][0] < m["bbox"][2] < 102.8
    net = N.load_network()
    assert net.n_nodes == 9 and net.n_edges == 12
    assert np.allclose(np.sort(net.length), 200.0, atol=0.02)
    assert N.load_network() is net  # cached while the file is unchanged
    text = N.status()
    assert text.startswith("street network: 9 nodes, built from blocks.osm.pbf on ")
    assert "SYNTHETIC" in text
    assert "合成测试数据" in N.status(lang="zh")


def test_same_extract_is_reused_new_extract_rebuilds(var_dir, tmp_path):
    path = block_map().write(tmp_path / "blocks.osm.pbf")
    first = N.build_network(path)
    mtime = first.path.stat().st_mtime_ns
    again = N.build_network(path)
    assert again.reused and again.manifest["sha256"] == first.manifest["sha256"]
    assert first.path.stat().st_mtime_ns == mtime
    forced = N.build_network(path, force=True)
    assert not forced.reused
    w = block_map()
    w.way([w.grid[0][2], w.node(600, 0)], highway="path")
    other = N.build_network(w.write(tmp_path / "blocks2.osm.pbf"))
    assert not other.reused and other.manifest["nodes"] == 10
    assert N.load_network().n_nodes == 10  # the running app picks the new file up


def _assert_previous_kept(var_dir, before: bytes):
    assert (var_dir / "network" / "network.npz").read_bytes() == before
    assert N.load_network().n_nodes == 9
    assert not [p for p in (var_dir / "network").iterdir() if "partial" in p.name]


@pytest.fixture()
def built(var_dir, tmp_path):
    N.build_network(block_map().write(tmp_path / "good.osm.pbf"))
    return (var_dir / "network" / "network.npz").read_bytes()


def test_not_an_osm_file(built, var_dir, tmp_path):
    bad = tmp_path / "stations.osm.pbf"
    bad.write_text("id,name,lon,lat\n1,驿站,102.7,25.0\n", encoding="utf-8")
    with pytest.raises(NetworkBuildError) as exc:
        N.build_network(bad)
    assert "not an OpenStreetMap extract" in str(exc.value)
    assert exc.value.param == "extract" and isinstance(exc.value, InputError)
    _assert_previous_kept(var_dir, built)


def test_missing_and_empty_files(built, var_dir, tmp_path):
    with pytest.raises(NetworkBuildError, match="does not exist"):
        N.build_network(tmp_path / "nowhere.osm.pbf")
    (tmp_path / "empty.osm.pbf").write_bytes(b"")
    with pytest.raises(NetworkBuildError, match="empty"):
        N.build_network(tmp_path / "empty.osm.pbf")
    _assert_previous_kept(var_dir, built)


@pytest.mark.parametrize("suffix", [".osm.pbf", ".osm"])
def test_truncated_extract(built, var_dir, tmp_path, suffix):
    w = block_map()
    for i in range(300):  # enough data that the cut falls inside the ways
        w.way([w.node(i * 10, 500), w.node(i * 10 + 5, 505)], highway="footway")
    full = w.write(tmp_path / f"full{suffix}").read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(full[: int(len(full) * 0.7)])
    with pytest.raises(NetworkBuildError, match="truncated or damaged"):
        N.build_network(cut)
    _assert_previous_kept(var_dir, built)


def test_extract_outside_yunnan(built, var_dir, tmp_path):
    chengdu = block_map(origin=(104.0657, 30.6595), label="test data: blocks in Chengdu, Sichuan")
    with pytest.raises(NetworkBuildError) as exc:
        N.build_network(chengdu.write(tmp_path / "chengdu.osm.pbf"))
    assert "outside Yunnan" in str(exc.value) and "0.0%" in str(exc.value)
    _assert_previous_kept(var_dir, built)


def test_extract_with_no_walkable_ways(built, var_dir, tmp_path):
    w = ExtractWriter(label="test data: expressway only")
    w.way([w.node(0, 0), w.node(1000, 0)], highway="motorway")
    w.way([w.node(0, 100), w.node(1000, 100)], highway="residential", access="private")
    w.way([w.node(0, 200), w.node(50, 200), w.node(50, 250), w.node(0, 200)], building="yes")
    with pytest.raises(NetworkBuildError, match="no walkable ways: its 2 highway ways"):
        N.build_network(w.write(tmp_path / "expressway.osm.pbf"))
    w2 = ExtractWriter(label="test data: buildings only")
    w2.way([w2.node(0, 0), w2.node(50, 0), w2.node(50, 50), w2.node(0, 0)], building="yes")
    with pytest.raises(NetworkBuildError, match="no streets or paths"):
        N.build_network(w2.write(tmp_path / "buildings.osm.pbf"))
    _assert_previous_kept(var_dir, built)


def test_wrongly_named_files(built, var_dir, tmp_path):
    pbf = block_map().write(tmp_path / "x.osm.pbf")
    renamed = tmp_path / "x.csv"
    os.replace(pbf, renamed)
    with pytest.raises(NetworkBuildError, match="name it .osm.pbf"):
        N.build_network(renamed)
    _assert_previous_kept(var_dir, built)


def test_a_failure_while_writing_leaves_the_previous_network(built, var_dir, tmp_path, monkeypatch):
    import stations.network.build as B

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(B, "_savez", boom)
    w = block_map()
    w.way([w.grid[0][2], w.node(600, 0)], highway="path")
    with pytest.raises(OSError):
        N.build_network(w.write(tmp_path / "new.osm.pbf"))
    _assert_previous_kept(var_dir, built)


def test_damaged_network_file_falls_back_to_straight_line(var_dir, tmp_path):
    N.build_network(block_map().write(tmp_path / "good.osm.pbf"))
    path = var_dir / "network" / "network.npz"
    path.write_bytes(path.read_bytes()[:100])
    N.clear_cache()
    assert N.load_network() is None
    assert N.status() == N.NO_NETWORK


def test_short_fragments_are_dropped_long_ones_kept(var_dir, tmp_path):
    w = block_map()
    w.way([w.node(1000, 1000), w.node(1050, 1000)], highway="footway")  # a 50 m courtyard path
    w.way([w.node(2000, 0), w.node(2000, 400)], highway="path")  # a 400 m path on its own
    m = N.build_network(w.write(tmp_path / "frag.osm.pbf")).manifest
    assert m["fragments_dropped"] == 1 and m["components"] == 2
    assert m["nodes"] == 11


def test_ways_cut_where_the_extract_lacks_a_node(var_dir, tmp_path):
    w = block_map()
    a, b = w.node(0, 600), w.node(400, 600)
    w.way([a, 999_999, b], highway="residential")  # the middle node is not in the file (clipped extract)
    w.way([a, w.grid[2][0]], highway="residential")
    m = N.build_network(w.write(tmp_path / "clipped.osm.pbf")).manifest
    # the way through the missing node adds no segment; the spur from (0,400) adds one 200 m segment
    assert m["edges"] == 13
    assert m["length_km"] == pytest.approx(2.6, abs=0.001)


def test_progress_is_reported(var_dir, tmp_path):
    seen = []
    N.build_network(block_map().write(tmp_path / "p.osm.pbf"), progress=lambda *a: seen.append(a[0]))
    assert {"hash", "read", "graph", "write"} <= set(seen)
