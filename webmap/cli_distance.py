"""``--distance straight|network`` for the command line (``yizhan coverage``, ``gaps``, ``recommend``, ``print``).

``network`` measures on the street network built with ``yizhan network build`` (walking metres; ``--radius``
defaults to 1,125 m = 15 minutes at 4.5 km/h there); without a network it is a clear error (exit status 2),
never a silent fallback to straight lines. :func:`echo_side_by_side` prints the straight-line and network
coverage of the same question side by side whenever a network exists.
"""

from __future__ import annotations

import click

from stations import coverage as C
from stations import network as N

NEED_NETWORK = ("no street network is loaded: --distance network needs one built with "
                "`yizhan network build EXTRACT.osm.pbf` (see docs/network.md); --distance straight works without")

DISTANCE = click.option("--distance", type=click.Choice(["straight", "network"]), default="straight", show_default=True,
                        help="straight lines (geodesic) or walking on the street network (`yizhan network build`)")


def require_network():
    """The stored network, or a usage error (exit status 2) saying none is loaded."""
    net = N.load_network()
    if net is None:
        raise click.UsageError("错误 / error: 未加载街道网络 / " + NEED_NETWORK)
    return net


def radius_for(distance: str, radius: float | None) -> float:
    """``--radius`` as given, else 1,000 m (straight) or 1,125 m (15 minutes' walk)."""
    if radius is not None:
        return float(radius)
    return float(N.DEFAULT_DISTANCE_M) if distance == "network" else float(C.DEFAULT_RADIUS_M)


def compute(stations, demand, spec, hour, weekday, distance: str):
    """Coverage in straight lines or on foot."""
    if distance == "network":
        return N.network_coverage(require_network(), stations, demand, spec, hour, weekday)
    return C.compute_coverage(stations, demand, spec, hour, weekday)


def label(distance: str, radius: float) -> str:
    if distance == "network":
        return f"{radius:g} m on foot ({radius / N.WALK_M_PER_MIN:.0f} minutes at {N.WALK_SPEED_KMH:g} km/h, street network)"
    return f"{radius:g} m (straight line)"


def echo_side_by_side(result, stations, demand, spec, hour, weekday, by: str) -> None:
    """With a network loaded: straight-line and network coverage per ``by`` side by side (else the note)."""
    net = N.load_network()
    if net is None:
        click.echo(N.status())
        return
    res = result if isinstance(result, N.NetworkCoverageResult) else N.network_coverage(net, stations, demand, spec,
                                                                                         hour, weekday)
    t = N.side_by_side_table(res, by)
    t = t[t["workers"] > 0]
    cols = ["adcode", "name", "workers", "covered_pct_straight", "covered_pct_network", "overstatement_pp",
            "workers_unreachable"]
    click.echo(f"straight line vs on foot ({N.describe(net.manifest)}):")
    click.echo(t[cols].round({"workers": 0, "covered_pct_straight": 1, "covered_pct_network": 1, "overstatement_pp": 1,
                              "workers_unreachable": 0}).to_string(index=False))
    click.echo(net.manifest.get("attribution") or N.ATTRIBUTION)
