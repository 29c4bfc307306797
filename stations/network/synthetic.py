"""Writing small, labelled OpenStreetMap extracts: test networks and the benchmark's synthetic city.

Nothing written here is real data. Every file carries the ``generator`` header
``yizhan-synthetic (<label>)`` (:data:`stations.network.build.SYNTHETIC_GENERATOR`), every way the tag
``note=yizhan synthetic <label>``, and a network built from such a file says so in its manifest
(``synthetic: true``) and in :func:`stations.network.status` ("SYNTHETIC test data"). Real networks come only
from an extract the deployer supplies (``docs/network.md``).

:class:`ExtractWriter` places nodes by metres east and north of an origin (an azimuthal equidistant
projection centred there, so hand-worked distances hold to far below a millimetre over a few kilometres),
adds ways with tags and writes ``.osm`` (XML) or ``.osm.pbf`` with pyosmium's ``SimpleWriter``.
:func:`write_grid_extract` writes the benchmark's grid towns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from pyproj import Transformer

from .build import SYNTHETIC_GENERATOR

__all__ = ["ExtractWriter", "write_grid_extract", "KUNMING"]

#: (lon, lat) of Kunming's 东风广场, where the test networks are placed
KUNMING = (102.7129, 25.0406)


class ExtractWriter:
    """A small OSM extract built in code; ``label`` says what it is (it ends up in the file's header)."""

    def __init__(self, origin: tuple[float, float] = KUNMING, label: str = "test data"):
        self.origin = origin
        self.label = label
        self._to_ll = Transformer.from_crs(
            f"+proj=aeqd +lat_0={origin[1]} +lon_0={origin[0]} +ellps=WGS84 +units=m", "EPSG:4326", always_xy=True)
        self.nodes: list[tuple[int, float, float, dict]] = []
        self.ways: list[tuple[int, list[int], dict]] = []

    def lonlat(self, east_m: float, north_m: float) -> tuple[float, float]:
        """WGS-84 (lon, lat) of a point ``east_m``, ``north_m`` metres from the origin."""
        lon, lat = self._to_ll.transform(east_m, north_m)
        return float(lon), float(lat)

    def node(self, east_m: float, north_m: float, **tags) -> int:
        lon, lat = self.lonlat(east_m, north_m)
        return self.node_ll(lon, lat, **tags)

    def node_ll(self, lon: float, lat: float, **tags) -> int:
        nid = len(self.nodes) + 1
        self.nodes.append((nid, lon, lat, tags))
        return nid

    def way(self, nodes: Sequence[int], **tags) -> int:
        wid = len(self.ways) + 1
        tags = {k.replace("__", ":"): v for k, v in tags.items()}  # sidewalk__left= -> sidewalk:left=
        tags.setdefault("note", f"yizhan synthetic {self.label}")
        self.ways.append((wid, list(nodes), tags))
        return wid

    def line(self, points: Iterable[tuple[float, float]], **tags) -> list[int]:
        """A way through new nodes at the given (east, north) metres; returns the node ids."""
        ids = [self.node(e, n) for e, n in points]
        self.way(ids, **tags)
        return ids

    def write(self, path) -> Path:
        import osmium

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = osmium.io.Header()
        header.set("generator", f"{SYNTHETIC_GENERATOR} ({self.label})")
        with osmium.SimpleWriter(str(path), header=header, overwrite=True) as w:
            for nid, lon, lat, tags in self.nodes:
                w.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat), tags=tags, version=1))
            for wid, refs, tags in self.ways:
                w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags, version=1))
        return path


def write_grid_extract(path, towns: Sequence[tuple[float, float, int, int]], spacing_m: float = 80.0,
                       seed: int = 0, progress: Callable[[int, int], None] | None = None) -> dict:
    """Write a synthetic extract of grid towns: ``towns`` is a list of ``(lon, lat, nx, ny)`` (centre and
    nodes per row/column). Streets run along rows and columns (residential, with every 5th a tertiary road
    and every 7th a footway), about 8 % of street segments are missing (dead ends and detours), and a motorway
    crosses each town without junctions (never walkable). Labelled synthetic in the header and on every way.
    Returns the node and way counts."""
    import osmium

    rng = np.random.default_rng(seed)
    path = Path(path)
    header = osmium.io.Header()
    header.set("generator", f"{SYNTHETIC_GENERATOR} (benchmark grid, not a real street network)")
    note = "yizhan synthetic benchmark grid"
    next_node = 1
    towns_xy = []
    total_nodes = sum(nx * ny for _, _, nx, ny in towns) + sum(nx for _, _, nx, _ in towns)
    done = 0
    with osmium.SimpleWriter(str(path), header=header, overwrite=True) as w:
        # nodes first (PBF wants nodes before ways, ids ascending)
        for lon0, lat0, nx, ny in towns:
            tr = Transformer.from_crs(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m",
                                      "EPSG:4326", always_xy=True)
            gx, gy = np.meshgrid((np.arange(nx) - nx / 2) * spacing_m, (np.arange(ny) - ny / 2) * spacing_m)
            jitter = rng.normal(0, spacing_m * 0.08, size=(2, ny, nx))
            lon, lat = tr.transform((gx + jitter[0]).ravel(), (gy + jitter[1]).ravel())
            base = next_node
            for i in range(nx * ny):
                w.add_node(osmium.osm.mutable.Node(id=base + i, location=(float(lon[i]), float(lat[i])), version=1))
            next_node += nx * ny
            # the motorway's own nodes, along the town's middle row shifted by a third of a block
            mlon, mlat = tr.transform((np.arange(nx) - nx / 2) * spacing_m, np.full(nx, spacing_m / 3))
            mbase = next_node
            for i in range(nx):
                w.add_node(osmium.osm.mutable.Node(id=mbase + i, location=(float(mlon[i]), float(mlat[i])), version=1))
            next_node += nx
            towns_xy.append((base, mbase, nx, ny))
            done += nx * ny + nx
            if progress is not None:
                progress(done, total_nodes)
        way_id = 1
        n_ways = 0

        def emit(refs, tags):
            nonlocal way_id, n_ways
            if len(refs) >= 2:
                w.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=tags, version=1))
                way_id += 1
                n_ways += 1

        for base, mbase, nx, ny in towns_xy:
            for r in range(ny):
                kind = "tertiary" if r % 5 == 0 else ("footway" if r % 7 == 3 else "residential")
                _emit_broken([base + r * nx + c for c in range(nx)], {"highway": kind, "note": note}, rng, emit)
            for c in range(nx):
                kind = "tertiary" if c % 5 == 0 else ("footway" if c % 7 == 3 else "residential")
                _emit_broken([base + r * nx + c for r in range(ny)], {"highway": kind, "note": note}, rng, emit)
            emit([mbase + i for i in range(nx)], {"highway": "motorway", "note": note})
    return {"nodes": next_node - 1, "ways": n_ways, "towns": len(towns)}


def _emit_broken(refs: list[int], tags: dict, rng, emit, p_gap: float = 0.08) -> None:
    gaps = rng.random(len(refs) - 1) < p_gap
    start = 0
    for i, gap in enumerate(gaps):
        if gap:
            emit(refs[start:i + 1], tags)
            start = i + 1
    emit(refs[start:], tags)
