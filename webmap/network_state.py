"""The planner's analyses on foot (``distance=network``, issue 13 §2), beside :mod:`webmap.state`.

:mod:`webmap.state` hands a question whose ``CoverageArgs.distance`` is ``"network"`` to this module (one hook
per analysis: coverage, the siting model, the recommendation); everything derived from a coverage result (the
tables, gaps, layer, downloads) then follows as before. Results are memoised per registry snapshot like the
straight-line ones, under keys that also name the network (a rebuilt network is another question).

``radius`` is the walking distance in metres for these questions (default 15 minutes at 4.5 km/h, 1,125 m:
:func:`webmap.network_common.default_radius`). :func:`side_by_side` gives the straight-line and network coverage of the same
question per county (prefecture, province): :func:`stations.network.side_by_side_table`.
"""

from __future__ import annotations

import dataclasses
import threading

from stations import coverage as C
from stations import network as N
from stations.limits import LIMITS
from stations.network import siting as NS
from webmap import state
from webmap.network_common import current, network_key, require_network
from webmap.responses import clean

_COMPUTE = threading.RLock()  # the page asks for the same figures in parallel: compute once


def coverage(args) -> N.NetworkCoverageResult:
    """:func:`stations.network.network_coverage` for ``args`` (a :class:`webmap.state.CoverageArgs`)."""
    net = require_network()
    st = state.stations(getattr(args, "scenario", None))  # the registry's stations or an accepted scenario's
    with _COMPUTE:
        return state.cached(("planner-network", *network_key(net), *args.key),
                            lambda: N.network_coverage(net, st, state.demand(args.demand), args.spec, args.hour,
                                                       args.weekday), args.private)


def side_by_side(args, by: str) -> list[dict] | None:
    """Straight-line and network coverage per ``by`` for ``args`` as JSON rows; None without a network."""
    net = current()
    if net is None:
        return None
    res = coverage(_network_args(args))
    with _COMPUTE:
        t = state.cached(("planner-side-by-side", *network_key(net), *args.key, by),
                         lambda: N.side_by_side_table(res, by, state.geography()), args.private)
    return table_rows_plain(t)


def _network_args(args):
    return args if getattr(args, "distance", "straight") == "network" else dataclasses.replace(args, distance="network")


def table_rows_plain(t) -> list[dict]:
    """Rows of a side-by-side table, figures rounded (percentages 0.01, workers 0.1, metres 1)."""
    out = []
    for rec in t.to_dict(orient="records"):
        row = {}
        for k, v in rec.items():
            if isinstance(v, float):
                v = round(v, 2 if "pct" in k or k.endswith("_pp") else 0 if k.endswith("_m") else 1)
            row[k] = clean(v)
        out.append(row)
    return out


def siting_model(args):
    """:func:`stations.network.siting.network_max_cover` for a :class:`webmap.state.RecommendArgs`."""
    net = require_network()
    c = args.coverage
    st = state.stations(c.scenario)
    key = ("siting-model-network", *network_key(net), c.radius, c.rural, c.hour, c.weekday, args.candidates, c.demand,
           c.scenario)
    return state.cached(key, lambda: NS.network_max_cover(
        net, state.demand(c.demand), state.candidate_frame(args.candidates), st, c.spec, c.hour, c.weekday,
        max_pairs=LIMITS["coverage_pairs"]), _owned(args))


def _owned(args) -> str | None:
    """What makes a siting model private to its owner: an uploaded demand or candidate set, or a scenario."""
    c = args.coverage
    return c.private if c.private is not None else (None if args.candidates == "default" else args.candidates)


def recommendation(rec, args):
    """A recommendation's before/after coverage measured on foot (its sites come from the walking model)."""
    net = require_network()
    c = args.coverage
    return NS.on_network(rec, net, state.stations(c.scenario), state.demand(c.demand), c.spec, c.hour, c.weekday)


def scenario_coverage(stations, args):
    """Coverage of a what-if scenario's ``stations`` for ``args``, on foot or in straight lines."""
    if getattr(args, "distance", "straight") == "network":
        net = require_network()
        return N.network_coverage(net, stations, state.demand(args.demand), args.spec, args.hour, args.weekday)
    return C.compute_coverage(stations, state.demand(args.demand), args.spec, args.hour, args.weekday)


state.ON_FOOT.update(coverage=coverage, siting_model=siting_model, recommendation=recommendation)

__all__ = ["coverage", "side_by_side", "table_rows_plain", "siting_model", "recommendation", "scenario_coverage"]
