"""The walking network: street distances from an OpenStreetMap extract the deployer supplies.

Everything in yizhan works without it (straight-line distances). With a network built by
``yizhan network build EXTRACT.osm.pbf`` (stored under ``var/network``), coverage, siting, the finder and
isochrones can measure on streets. The method, the pedestrian filter, limits and the ODbL attribution are in
``docs/network.md``.

Modules:

* :mod:`.filter` -- which OSM ways a pedestrian may walk (the table);
* :mod:`.build` -- reading an extract with pyosmium, building and storing the graph, ``load_network()``,
  ``status()``;
* :mod:`.graph` -- :class:`WalkNetwork`: snapping, multi-source distances, the siting matrix, routes;
* :mod:`.coverage` -- coverage results shaped like :mod:`stations.coverage`, side-by-side tables;
* :mod:`.finder` -- the finder's straight-line candidates ranked by walking distance;
* :mod:`.isochrones` -- 5/10/15-minute walking areas and their export;
* :mod:`.synthetic` -- labelled synthetic extracts for tests and the benchmark (never real data).

No web framework is imported here.
"""

from .build import (ATTRIBUTION, NO_NETWORK, BuildResult, build_network, clear_cache, describe, load_network,
                    network_dir, network_path, read_manifest, status)
from .coverage import (NetworkCoverageResult, network_coverage, network_coverage_matrix, side_by_side_table)
from .graph import (DEFAULT_DISTANCE_M, DEFAULT_MINUTES, MAX_SNAP_M, WALK_M_PER_MIN, WALK_SPEED_KMH, Route, Snap,
                    WalkNetwork, distance_limit, m_to_minutes, minutes_to_m)
from .finder import WalkRanking, rank_by_walk
from .isochrones import DEFAULT_BANDS, STREET_BUFFER_M, export_isochrones, isochrones, parse_minutes

__all__ = [
    "ATTRIBUTION", "NO_NETWORK", "BuildResult", "build_network", "clear_cache", "describe", "load_network",
    "network_dir", "network_path", "read_manifest", "status",
    "NetworkCoverageResult", "network_coverage", "network_coverage_matrix", "side_by_side_table",
    "DEFAULT_DISTANCE_M", "DEFAULT_MINUTES", "MAX_SNAP_M", "WALK_M_PER_MIN", "WALK_SPEED_KMH", "Route", "Snap",
    "WalkNetwork", "distance_limit", "m_to_minutes", "minutes_to_m",
    "WalkRanking", "rank_by_walk",
    "DEFAULT_BANDS", "STREET_BUFFER_M", "export_isochrones", "isochrones", "parse_minutes",
]
