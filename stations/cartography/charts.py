"""Charts: the coverage-versus-N curve of a siting recommendation.

Drawn with matplotlib's object API (a ``Figure`` with an Agg canvas, never pyplot's global figures) under
the render lock, so server threads can draw it while others draw sheets.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

import numpy as np

from .fonts import RENDER_LOCK, find_cjk_font

log = logging.getLogger(__name__)


def _cjk_family() -> str | None:
    try:
        return find_cjk_font().family
    except Exception as exc:  # noqa: BLE001 - no usable CJK font: the curve is labelled in English
        log.info("no CJK font for the curve (%s): English labels", exc)
        return None


def coverage_curve(rec, out, lang: str = "zh") -> list[Path]:
    """The coverage-versus-N curve of the greedy order (covered % after 0..N new sites), with the exact
    optimum marked when it was run. ``rec`` is a :class:`stations.siting.Recommendation` (its ``solution``,
    ``exact``, ``mode`` and ``model.radius`` in metres are read). Written as ``out`` (PNG or SVG by suffix)
    and its sibling in the other format; returns the paths written. Chinese labels with a CJK font when one
    is installed, English otherwise."""
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(out)
    family = _cjk_family() if lang == "zh" else None
    zh = family is not None
    sol = rec.solution
    y = 100.0 * sol.cumulative() / sol.total if sol.total > 0 else np.zeros(sol.n + 1)
    x = np.arange(len(y))
    rc = {"font.family": [family, "DejaVu Sans"]} if zh else {}
    with RENDER_LOCK, mpl.rc_context(rc):
        fig = Figure(figsize=(7.5, 4.5), dpi=150)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot(x, y, color="#1f5fa8", lw=1.8, label="贪心算法" if zh else "greedy")
        ax.axhline(y[0], color="#999", lw=0.8, ls="--")
        if rec.exact is not None and rec.exact.n:
            ax.scatter([rec.exact.n], [rec.exact.covered_pct], color="#d7301f", zorder=3,
                       label=("精确最优（整数规划）" if zh else "exact (integer program)")
                       + ("" if rec.exact.status == "optimal" else (" 未证明最优" if zh else " not proven optimal")))
        if rec.mode == "set-cover":
            tp = sol.extra.get("target_pct")
            if tp:
                ax.axhline(tp, color="#31a354", lw=1, ls=":", label=(f"目标 {tp:g}%" if zh else f"target {tp:g}%"))
        ax.set_xlabel("新增驿站数 N" if zh else "new stations N")
        ax.set_ylabel("覆盖的户外劳动者 %" if zh else "outdoor workers covered %")
        r = rec.model.radius
        rtxt = f"{r:g} m" if not isinstance(r, Mapping) else ", ".join(f"{k} {v:g} m" for k, v in r.items())
        ax.set_title((f"新增驿站与覆盖率（服务半径 {rtxt}）" if zh else f"Coverage versus new stations (radius {rtxt})"))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
        ax.set_xlim(0, max(1, len(y) - 1))
        fig.tight_layout()
        written = []
        targets = [out] + ([out.with_suffix(".svg")] if out.suffix.lower() == ".png" else
                           [out.with_suffix(".png")] if out.suffix.lower() == ".svg" else [])
        for p in targets:
            p.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(p, format=p.suffix.lstrip(".").lower() or "png")
            written.append(p)
    return written
