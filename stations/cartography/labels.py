"""Map labels: where a polygon's label goes, a greedy label placer that avoids collisions, white halos.

Labels are plain text (``pdftotext`` extracts them); a halo is a separate white copy drawn just below the
label with a stroke effect (text with path effects is written to a PDF as outlines).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def _largest_part(geom):
    if geom.geom_type == "MultiPolygon":
        return max(geom.geoms, key=lambda g: g.area)
    return geom


def label_point(geom):
    """A point well inside a polygon (pole of inaccessibility of its largest part)."""
    from shapely.ops import polylabel

    part = _largest_part(geom)
    if part.geom_type != "Polygon":
        return geom.representative_point()
    try:
        tol = max(math.sqrt(part.area) / 200.0, 1e-9)
        pt = polylabel(part, tolerance=tol)
        if part.contains(pt):
            return pt
    except Exception:  # noqa: BLE001 - a degenerate polygon: the representative point below
        pass
    return part.representative_point()


@dataclass
class LabelPlacer:
    """Greedy label placement: a label that would overlap a placed one (or leave the frame) is moved to
    one of a few offsets around its anchor, or dropped."""

    ax: Any
    renderer: Any
    boxes: list = field(default_factory=list)
    dropped: list = field(default_factory=list)

    def block(self, bbox) -> None:
        self.boxes.append(bbox)

    def overlaps(self, bbox) -> bool:
        """Whether ``bbox`` (display units) overlaps anything placed or blocked so far."""
        return any(bbox.overlaps(b) for b in self.boxes)

    def _fits(self, bbox) -> bool:
        frame = self.ax.get_window_extent(self.renderer)
        if (
            bbox.x0 < frame.x0 + 2
            or bbox.x1 > frame.x1 - 2
            or bbox.y0 < frame.y0 + 2
            or bbox.y1 > frame.y1 - 2
        ):
            return False
        return not self.overlaps(bbox)

    def place(self, x, y, text, *, offsets_pt=(0, 6, 10), required=False, center=True, **kwargs):
        from matplotlib.transforms import offset_copy

        ax = self.ax
        fig = ax.figure
        tries = [(0.0, 0.0)] if center else []
        for d in offsets_pt[1:]:
            tries += [(d, d), (-d, d), (d, -d), (-d, -d), (0, d), (0, -d), (d, 0), (-d, 0)] if not center else \
                     [(0, d), (0, -d), (d, 0), (-d, 0), (d, d), (-d, d), (d, -d), (-d, -d)]
        halo = kwargs.pop("path_effects", None)
        for dx, dy in tries:
            transform = offset_copy(ax.transData, fig=fig, x=dx, y=dy, units="points")
            t = ax.text(x, y, text, transform=transform, ha="center", va="center", **kwargs)
            bbox = t.get_window_extent(self.renderer).expanded(1.08, 1.15)
            if self._fits(bbox):
                self.boxes.append(bbox)
                add_halo(t, halo)
                return t
            t.remove()
        if required:
            t = ax.text(x, y, text, ha="center", va="center", **kwargs)
            self.boxes.append(t.get_window_extent(self.renderer))
            add_halo(t, halo)
            return t
        self.dropped.append(text)
        return None


def add_halo(t, halo) -> None:
    """A white halo under a label, drawn as a separate copy: text with path effects is written to the PDF as
    outlines, so the label itself stays plain text (extractable by ``pdftotext``) on top of its halo."""
    if not halo:
        return
    ax = t.axes
    props = dict(
        transform=t.get_transform(), ha=t.get_ha(), va=t.get_va(), fontproperties=t.get_fontproperties(),
        rotation=t.get_rotation(), linespacing=t._linespacing, color="white", zorder=t.get_zorder() - 0.01,
        path_effects=halo,
    )
    x, y = t.get_position()
    ax.text(x, y, t.get_text(), **props)


def halo_annotation(ax, t, halo) -> None:
    """The halo of an annotation (a graticule label): a white stroked copy just below it."""
    ax.annotate(t.get_text(), t.xy, xytext=t.xyann, textcoords=t.anncoords, ha=t.get_ha(), va=t.get_va(),
                rotation=t.get_rotation(), fontproperties=t.get_fontproperties(), color="white",
                zorder=t.get_zorder() - 0.01, path_effects=halo)


def halo(width=2.2):
    """The white stroke path effect of a halo ``width`` points wide."""
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]
