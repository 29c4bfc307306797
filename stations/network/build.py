"""Building the walking graph from an OpenStreetMap extract, storing it, and finding it again.

Reader: **pyosmium** (``osmium`` on PyPI, the Python bindings of libosmium, maintained by the OSM
developers themselves). Chosen over ``pyrosm`` because it reads every format the extract services publish
(``.osm.pbf``, ``.osm``, ``.osm.bz2``/``.gz``), streams the file with a C++ node-location index instead of
loading whole GeoDataFrames (the province fits in well under the memory pyrosm needs), ships wheels for
current Pythons, reports truncated or damaged files as errors instead of returning partial data, and can
*write* OSM files, which the tests and the benchmark use to make their own labelled extracts.

The build (:func:`build_network`):

1. checks the file looks like an OSM extract (PBF magic bytes or XML), hashes it (SHA-256);
2. reuses the stored network when its manifest has the same hash, filter version and format version;
3. reads every way with ``highway=*`` and its node locations, keeps the walkable ones
   (:mod:`stations.network.filter`), and cuts them into straight segments between consecutive OSM nodes;
4. merges repeated segments, measures each on the WGS-84 ellipsoid (``pyproj.Geod``, metres), drops
   fragments whose total length is under :data:`MIN_COMPONENT_M` (an isolated courtyard footway would
   otherwise capture the points near it), and refuses extracts with no walkable way or whose walkable
   nodes lie mostly outside Yunnan;
5. writes one ``.npz`` (node ids, WGS-84 coordinates as OSM's 1e-7 degree integers, edge endpoints,
   lengths in metres, a class per edge, and the manifest) to a temporary name and moves it into place
   with one atomic rename, then writes ``manifest.json`` beside it for people to read. A build that fails
   at any step leaves the previous network untouched.

:func:`load_network` returns the stored :class:`~stations.network.graph.WalkNetwork` (cached while the file
is unchanged) or ``None``; :func:`status` is the one-line text pages and the CLI show.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from pyproj import Geod
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .. import config
from ..errors import NetworkBuildError
from . import filter as F

log = logging.getLogger(__name__)

__all__ = [
    "ATTRIBUTION", "FORMAT_VERSION", "MIN_COMPONENT_M", "MIN_SHARE_IN_YUNNAN", "SYNTHETIC_GENERATOR",
    "BuildResult", "build_network", "load_network", "status", "network_dir", "network_path", "read_manifest",
    "file_sha256", "clear_cache", "describe", "NO_NETWORK",
]

#: bump when the stored arrays change meaning (part of the reuse key)
FORMAT_VERSION = "1"
#: connected fragments shorter than this in total (metres) are left out of the graph
MIN_COMPONENT_M = 300.0
#: share of walkable nodes that must lie inside Yunnan's polygon for an extract to be accepted
MIN_SHARE_IN_YUNNAN = 0.5
#: the ``generator`` header our own writer puts in synthetic and test extracts (see ``synthetic.py``)
SYNTHETIC_GENERATOR = "yizhan-synthetic"
ATTRIBUTION = ("Street network © OpenStreetMap contributors, available under the Open Database Licence "
               "(ODbL 1.0), https://www.openstreetmap.org/copyright")
ATTRIBUTION_ZH = "路网数据 © OpenStreetMap 贡献者，依开放数据库许可协议（ODbL 1.0）提供"

_GEOD = Geod(ellps="WGS84")
_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml")
_MAX_NODE_PRINT = 5


def network_dir() -> Path:
    """``var/network`` (under ``YIZHAN_VAR_DIR``)."""
    return Path(config.var_dir()) / "network"


def network_path() -> Path:
    """The stored graph: ``var/network/network.npz``."""
    return network_dir() / "network.npz"


# ---------------------------------------------------------------------------------------------------------
# checks on the file


def _err(message: str, **values) -> NetworkBuildError:
    return NetworkBuildError(message, **values)


def _sniff(path: Path) -> str:
    """``pbf`` or ``xml`` (or ``compressed`` for .bz2/.gz, left to the reader), else a NetworkBuildError."""
    if not path.exists():
        raise _err("extract %(path)s does not exist", path=str(path))
    if path.is_dir():
        raise _err("extract %(path)s is a folder, not an OSM file", path=str(path))
    size = path.stat().st_size
    if size == 0:
        raise _err("extract %(path)s is empty (0 bytes)", path=str(path))
    with path.open("rb") as fh:
        head = fh.read(64)
    name = path.name.lower()
    if head[:3] == b"BZh" or head[:2] == b"\x1f\x8b":
        if not (name.endswith(".osm.bz2") or name.endswith(".osm.gz")):
            raise _err("extract %(path)s is compressed but not named .osm.bz2 or .osm.gz", path=str(path))
        return "compressed"
    if len(head) >= 13 and head[4:6] == b"\x0a\x09" and head[6:15] == b"OSMHeader":
        if not name.endswith(".pbf"):
            raise _err("extract %(path)s is an OSM PBF file: name it .osm.pbf", path=str(path))
        return "pbf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<?xml") or text.startswith(b"<osm"):
        if not (name.endswith(".osm") or name.endswith(".xml")):
            raise _err("extract %(path)s is OSM XML: name it .osm", path=str(path))
        return "xml"
    raise _err("%(path)s is not an OpenStreetMap extract (expected an .osm.pbf or .osm file, as published by "
               "Geofabrik or BBBike)", path=str(path))


def file_sha256(path: Path, progress: Callable[[int, int], None] | None = None) -> str:
    """SHA-256 of a file, read in 4 MiB blocks; ``progress(done_bytes, total_bytes)`` after each block."""
    h = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as fh:
        while True:
            block = fh.read(4 << 20)
            if not block:
                break
            h.update(block)
            done += len(block)
            if progress is not None:
                progress(done, total)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# reading


@dataclass
class _Ways:
    refs: np.ndarray  # int64 node ids of all walkable ways, concatenated
    x: np.ndarray  # int32 lon * 1e7
    y: np.ndarray  # int32 lat * 1e7
    way_start: np.ndarray  # int64 offsets into refs, one per way + the end
    way_class: np.ndarray  # uint8 per way
    highway_ways: int  # ways with highway=* (walkable or not)
    generator: str


def _osmium():
    import osmium

    return osmium


def _read_ways(path: Path, progress: Callable[[int], None] | None = None) -> _Ways:
    """Every walkable way of the extract with its node ids and locations (one streaming pass)."""
    from array import array

    osmium = _osmium()
    refs, xs, ys = array("q"), array("i"), array("i")
    starts = array("q", [0])
    classes = array("B")
    highway_ways = 0
    missing = 0
    walkable = F.walkable
    cls = F.highway_class
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            generator = reader.header().get("generator", "") or ""
        finally:
            reader.close()
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations()
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
              .with_filter(osmium.filter.KeyFilter("highway")))
        seen = 0
        for way in fp:
            highway_ways += 1
            tags = dict(way.tags)
            if not walkable(tags):
                continue
            c = cls(tags)
            for n in way.nodes:
                loc = n.location
                if loc.valid():
                    refs.append(n.ref)
                    xs.append(loc.x)
                    ys.append(loc.y)
                else:  # a node the extract does not hold: the way is cut there
                    missing += 1
                    if len(refs) > starts[-1]:
                        starts.append(len(refs))
                        classes.append(c)
            if len(refs) > starts[-1]:
                starts.append(len(refs))
                classes.append(c)
            seen += 1
            if progress is not None and seen % 5000 == 0:
                progress(seen)
        if progress is not None:
            progress(seen)
    except RuntimeError as exc:
        text = str(exc)
        if "EOF" in text or "unclosed token" in text or "truncated" in text.lower() or "no element found" in text:
            raise _err("extract %(path)s is truncated or damaged (%(detail)s); download it again",
                       path=str(path), detail=text) from None
        raise _err("cannot read extract %(path)s: %(detail)s", path=str(path), detail=text) from None
    if missing:
        log.info("%s: %d way nodes have no location in the extract (ways cut there)", path, missing)
    return _Ways(
        refs=np.frombuffer(refs, dtype=np.int64) if refs else np.zeros(0, np.int64),
        x=np.frombuffer(xs, dtype=np.int32) if xs else np.zeros(0, np.int32),
        y=np.frombuffer(ys, dtype=np.int32) if ys else np.zeros(0, np.int32),
        way_start=np.frombuffer(starts, dtype=np.int64),
        way_class=np.frombuffer(classes, dtype=np.uint8) if classes else np.zeros(0, np.uint8),
        highway_ways=highway_ways,
        generator=generator,
    )


# ---------------------------------------------------------------------------------------------------------
# graph arrays


@dataclass
class GraphArrays:
    """The stored form: nodes (OSM ids, WGS-84 as 1e-7 degree integers) and undirected edges (u < v)."""

    node_id: np.ndarray  # int64
    node_x: np.ndarray  # int32, lon * 1e7
    node_y: np.ndarray  # int32, lat * 1e7
    edge_u: np.ndarray  # int32
    edge_v: np.ndarray  # int32
    edge_len: np.ndarray  # float32 metres (geodesic)
    edge_class: np.ndarray  # uint8, index into filter.CLASS_NAMES


def _segments(ways: _Ways) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, class) positions in ``ways.refs`` of consecutive nodes inside each way."""
    n = len(ways.refs)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8)
    a = np.arange(n - 1, dtype=np.int64)
    last_of_way = np.zeros(n, dtype=bool)
    last_of_way[ways.way_start[1:] - 1] = True  # the last node of a way starts no segment
    keep = ~last_of_way[:-1]
    a = a[keep]
    way_of = np.searchsorted(ways.way_start, a, side="right") - 1
    return a, a + 1, ways.way_class[way_of]


def graph_arrays(ways: _Ways) -> tuple[GraphArrays, dict]:
    """Nodes and deduplicated undirected edges with geodesic lengths, fragments removed; plus counts."""
    a, b, ecls = _segments(ways)
    uniq, inverse = np.unique(ways.refs, return_inverse=True)
    first = np.full(len(uniq), -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]  # position of each node's first occurrence
    node_x = ways.x[first]
    node_y = ways.y[first]
    u = inverse[a]
    v = inverse[b]
    loops = u == v
    u, v, ecls = u[~loops], v[~loops], ecls[~loops]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key = lo * len(uniq) + hi
    key, pos = np.unique(key, return_index=True)  # a segment shared by two ways counts once
    lo, hi, ecls = lo[pos], hi[pos], ecls[pos]
    lon = node_x.astype(np.float64) / 1e7
    lat = node_y.astype(np.float64) / 1e7
    _, _, length = _GEOD.inv(lon[lo], lat[lo], lon[hi], lat[hi])
    length = np.asarray(length, dtype=np.float64)
    counts = {"segments_read": int(len(a)), "duplicate_segments": int(len(a) - int(loops.sum()) - len(lo))}

    # drop short disconnected fragments
    n = len(uniq)
    g = sparse.coo_matrix((np.ones(len(lo), np.int8), (lo, hi)), shape=(n, n))
    ncomp, label = connected_components(g, directed=False)
    comp_len = np.bincount(label[lo], weights=length, minlength=ncomp)
    keep_comp = comp_len >= MIN_COMPONENT_M
    if not keep_comp.any() and ncomp:  # a tiny extract: keep its largest piece rather than nothing
        keep_comp[int(np.argmax(comp_len))] = True
    keep_node = keep_comp[label]
    counts["fragments_dropped"] = int((~keep_comp).sum())
    counts["fragment_nodes_dropped"] = int((~keep_node).sum())
    new_index = np.cumsum(keep_node) - 1
    keep_edge = keep_node[lo]
    arrays = GraphArrays(
        node_id=uniq[keep_node].astype(np.int64),
        node_x=node_x[keep_node].astype(np.int32),
        node_y=node_y[keep_node].astype(np.int32),
        edge_u=new_index[lo[keep_edge]].astype(np.int32),
        edge_v=new_index[hi[keep_edge]].astype(np.int32),
        edge_len=length[keep_edge].astype(np.float32),
        edge_class=ecls[keep_edge].astype(np.uint8),
    )
    counts["components"] = int(keep_comp.sum())
    return arrays, counts


def _check_in_yunnan(arrays: GraphArrays, path: Path) -> float:
    """Share of walkable nodes inside Yunnan's polygon (a sample of at most 200,000); refuse below the floor."""
    from .. import geo

    n = len(arrays.node_x)
    idx = np.arange(n) if n <= 200_000 else np.random.default_rng(0).choice(n, 200_000, replace=False)
    lon = arrays.node_x[idx] / 1e7
    lat = arrays.node_y[idx] / 1e7
    share = float(np.mean(geo.in_province(lon, lat))) if len(idx) else 0.0
    if share < MIN_SHARE_IN_YUNNAN:
        raise _err(
            "extract %(path)s lies outside Yunnan: only %(pct).1f%% of its walkable street nodes are in the province "
            "(extract spans lon %(lon0).3f..%(lon1).3f, lat %(lat0).3f..%(lat1).3f); use an extract of Yunnan or of a "
            "city in it (for example cut from Geofabrik's China extract with `osmium extract`)",
            path=str(path), pct=100 * share, lon0=float(lon.min()), lon1=float(lon.max()),
            lat0=float(lat.min()), lat1=float(lat.max()))
    return share


# ---------------------------------------------------------------------------------------------------------
# storing


def read_manifest(path: Path | None = None) -> dict | None:
    """The manifest stored inside the network file (None when there is no readable network)."""
    path = Path(path) if path is not None else network_path()
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(bytes(z["manifest"]).decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - a damaged file is reported, never trusted
        log.warning("network file %s unreadable: %s", path, exc)
        return None


def _write_atomic(arrays: GraphArrays, manifest: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        with tmp.open("wb") as fh:
            np.savez_compressed(
                fh, node_id=arrays.node_id, node_x=arrays.node_x, node_y=arrays.node_y, edge_u=arrays.edge_u,
                edge_v=arrays.edge_v, edge_len=arrays.edge_len, edge_class=arrays.edge_class,
                manifest=np.frombuffer(json.dumps(manifest, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    side = out.with_name("manifest.json")
    tmp_side = side.with_name(f".manifest.json.{os.getpid()}.partial")
    tmp_side.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_side, side)


@dataclass
class BuildResult:
    path: Path
    manifest: dict
    reused: bool  # the stored network already came from this extract: nothing was rebuilt


def build_network(extract, *, force: bool = False, out: Path | None = None,
                  progress: Callable[[str, int, int | None], None] | None = None) -> BuildResult:
    """Build (or reuse) the walking network from an OSM extract and store it atomically.

    ``progress(stage, done, total)`` is called with stage ``hash`` (bytes), ``read`` (walkable ways so far,
    total unknown) and ``graph``/``write`` (0/1). Bad input raises :class:`NetworkBuildError` (parameter
    ``extract``); the stored network is then left exactly as it was.
    """
    t0 = time.perf_counter()
    path = Path(extract)
    out = Path(out) if out is not None else network_path()
    kind = _sniff(path)
    sha = file_sha256(path, (lambda d, t: progress("hash", d, t)) if progress else None)
    old = read_manifest(out)
    if (not force and old is not None and old.get("sha256") == sha
            and old.get("filter_version") == F.FILTER_VERSION and old.get("format_version") == FORMAT_VERSION):
        log.info("network from %s is already built (sha256 %s); reusing %s", path.name, sha[:12], out)
        return BuildResult(out, old, True)

    ways = _read_ways(path, (lambda n: progress("read", n, None)) if progress else None)
    if len(ways.way_start) <= 1:
        if ways.highway_ways == 0:
            raise _err("extract %(path)s holds no streets or paths (no way with a highway tag)", path=str(path))
        raise _err("extract %(path)s has no walkable ways: its %(n)d highway ways are all motorways, private, "
                   "under construction or closed to pedestrians", path=str(path), n=ways.highway_ways)
    if progress:
        progress("graph", 0, 1)
    arrays, counts = graph_arrays(ways)
    if len(arrays.edge_u) == 0:
        raise _err("extract %(path)s has no walkable ways: its walkable ways have no segment with two located "
                   "nodes", path=str(path))
    share = _check_in_yunnan(arrays, path)
    if progress:
        progress("graph", 1, 1)
    lon = arrays.node_x / 1e7
    lat = arrays.node_y / 1e7
    from . import graph as G

    synthetic = ways.generator.startswith(SYNTHETIC_GENERATOR)
    manifest = {
        "format_version": FORMAT_VERSION,
        "filter_version": F.FILTER_VERSION,
        "source": path.name,
        "source_kind": kind,
        "source_bytes": path.stat().st_size,
        "sha256": sha,
        "generator": ways.generator,
        "synthetic": synthetic,
        "nodes": int(len(arrays.node_id)),
        "edges": int(len(arrays.edge_u)),
        "length_km": round(float(arrays.edge_len.astype(np.float64).sum()) / 1000.0, 3),
        "highway_ways": ways.highway_ways,
        "walkable_ways": int(len(ways.way_start) - 1),
        "share_in_yunnan": round(share, 4),
        "bbox": [round(float(lon.min()), 7), round(float(lat.min()), 7), round(float(lon.max()), 7),
                 round(float(lat.max()), 7)],
        "edge_classes": {name: int(c) for name, c in zip(F.CLASS_NAMES, np.bincount(arrays.edge_class,
                                                                                      minlength=len(F.CLASS_NAMES)))},
        **counts,
        "walk_speed_kmh": G.WALK_SPEED_KMH,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": None,
        "reader": f"pyosmium {_osmium_version()}",
        "attribution": ATTRIBUTION,
        "attribution_zh": ATTRIBUTION_ZH,
    }
    if progress:
        progress("write", 0, 1)
    manifest["build_seconds"] = round(time.perf_counter() - t0, 2)
    _write_atomic(arrays, manifest, out)
    if progress:
        progress("write", 1, 1)
    clear_cache()
    log.info("built walking network from %s: %d nodes, %d edges in %.1f s", path.name, manifest["nodes"],
             manifest["edges"], manifest["build_seconds"])
    return BuildResult(out, manifest, False)


def _osmium_version() -> str:
    try:
        from osmium.version import libosmium_version, pyosmium_release

        return f"{pyosmium_release} (libosmium {libosmium_version})"
    except Exception:  # noqa: BLE001
        return "unknown"


# ---------------------------------------------------------------------------------------------------------
# loading

_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple, object]] = {}


def clear_cache() -> None:
    """Forget loaded networks (after a build, or when ``YIZHAN_VAR_DIR`` changed)."""
    with _LOCK:
        _CACHE.clear()


def load_network(path: Path | None = None):
    """The stored :class:`~stations.network.graph.WalkNetwork`, or ``None`` when no network was built.

    Cached per file while its size and modification time stay the same, so a rebuilt network is picked up
    by a running app. A damaged file is logged and treated as absent (straight-line mode goes on)."""
    from .graph import WalkNetwork

    path = Path(path) if path is not None else network_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    key = (st.st_size, st.st_mtime_ns)
    with _LOCK:
        hit = _CACHE.get(str(path))
        if hit is not None and hit[0] == key:
            return hit[1]
        try:
            with np.load(path, allow_pickle=False) as z:
                manifest = json.loads(bytes(z["manifest"]).decode("utf-8"))
                arrays = GraphArrays(**{f: z[f] for f in GraphArrays.__dataclass_fields__})
        except Exception as exc:  # noqa: BLE001
            log.error("network file %s cannot be read (%s): using straight-line distances", path, exc)
            return None
        if manifest.get("format_version") != FORMAT_VERSION:
            log.error("network file %s has format %s, this version reads %s: rebuild it with `yizhan network build`",
                      path, manifest.get("format_version"), FORMAT_VERSION)
            return None
        net = WalkNetwork(arrays, manifest)
        _CACHE[str(path)] = (key, net)
        return net


NO_NETWORK = "straight-line distances: no street network loaded"
NO_NETWORK_ZH = "直线距离：未加载路网"


def status(path: Path | None = None, lang: str = "en") -> str:
    """One line for pages and the CLI: ``straight-line distances: no street network loaded`` or
    ``street network: N nodes, built from X on DATE`` (marked synthetic when our own writer made the extract)."""
    m = read_manifest(path)
    if m is None:
        return NO_NETWORK_ZH if lang == "zh" else NO_NETWORK
    return describe(m, lang)


def describe(manifest: dict, lang: str = "en") -> str:
    """The status line of a network with this manifest."""
    m = manifest
    date = str(m.get("built_at", ""))[:10]
    synthetic = m.get("synthetic")
    if lang == "zh":
        text = f"步行路网：{m.get('nodes', 0):,} 个节点，{date} 由 {m.get('source', '?')} 生成"
        return text + "（合成测试数据，非真实路网）" if synthetic else text
    text = f"street network: {m.get('nodes', 0):,} nodes, built from {m.get('source', '?')} on {date}"
    return text + " (SYNTHETIC test data, not a real street network)" if synthetic else text
