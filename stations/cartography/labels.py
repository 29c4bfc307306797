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


#: the ``gid`` of a label's halo (a white copy drawn just below the label): not a label of its own
HALO_GID = "halo"


@dataclass
class _Placed:
    bbox: Any  # display units
    artists: list  # the label and its halo (empty for a blocked area: furniture)
    required: bool
    text: str = ""


@dataclass
class LabelPlacer:
    """Greedy label placement: a label that would overlap a placed one, a blocked area (the scale bar, the
    north arrow, the demo banner) or leave the frame is moved to one of a few offsets around its anchor, or
    dropped. A ``required`` label (the prefecture names of the province sheet, the county of a county sheet,
    the gap numbers) that finds no free place tries farther offsets, then takes the place of optional labels
    (lake, neighbour and town names), which are removed and counted as dropped; it never overlaps another
    label. Only when even that fails is it dropped too (listed in :attr:`dropped`)."""

    ax: Any
    renderer: Any
    placed: list = field(default_factory=list)
    dropped: list = field(default_factory=list)

    @property
    def boxes(self) -> list:
        return [p.bbox for p in self.placed]

    def block(self, bbox) -> None:
        """Keep labels off ``bbox`` (display units): map furniture."""
        self.placed.append(_Placed(bbox, [], True))

    def overlaps(self, bbox) -> bool:
        """Whether ``bbox`` (display units) overlaps anything placed or blocked so far."""
        return any(bbox.overlaps(p.bbox) for p in self.placed)

    def _inside(self, bbox) -> bool:
        frame = self.ax.get_window_extent(self.renderer)
        return not (bbox.x0 < frame.x0 + 2 or bbox.x1 > frame.x1 - 2 or bbox.y0 < frame.y0 + 2 or bbox.y1 > frame.y1 - 2)

    def extent(self, t):
        """The rendered extent of a label: its text, and its box (the gap numbers' circles) when it has one."""
        bbox = t.get_window_extent(self.renderer)
        patch = t.get_bbox_patch()
        if patch is not None:
            from matplotlib.transforms import Bbox

            t.update_bbox_position_size(self.renderer)
            bbox = Bbox.union([bbox, patch.get_window_extent(self.renderer)])
        return bbox.expanded(1.08, 1.15)

    def place(self, x, y, text, *, offsets_pt=(0, 6, 10), required=False, center=True, **kwargs):
        from matplotlib.transforms import offset_copy

        ax = self.ax
        fig = ax.figure
        offsets = tuple(offsets_pt) + ((14, 18, 24) if required else ())
        tries = [(0.0, 0.0)] if center else []
        for d in offsets[1:]:
            tries += [(d, d), (-d, d), (d, -d), (-d, -d), (0, d), (0, -d), (d, 0), (-d, 0)] if not center else \
                     [(0, d), (0, -d), (d, 0), (-d, 0), (d, d), (-d, d), (d, -d), (-d, -d)]
        halo = kwargs.pop("path_effects", None)
        candidates = []  # (text, bbox) of each try inside the frame
        for dx, dy in tries:
            transform = offset_copy(ax.transData, fig=fig, x=dx, y=dy, units="points")
            t = ax.text(x, y, text, transform=transform, ha="center", va="center", **kwargs)
            bbox = self.extent(t)
            if self._inside(bbox):
                if not self.overlaps(bbox):
                    for other, _ in candidates:
                        other.remove()
                    return self._keep(t, bbox, required, halo)
                if required:
                    candidates.append((t, bbox))
                    continue
            t.remove()
        # a required label: the try that displaces the fewest optional labels (and no required one)
        best = None
        for t, bbox in candidates:
            hits = [p for p in self.placed if bbox.overlaps(p.bbox)]
            if any(p.required for p in hits):
                continue
            if best is None or len(hits) < len(best[2]):
                best = (t, bbox, hits)
        for t, _ in candidates:
            if best is None or t is not best[0]:
                t.remove()
        if best is not None:
            t, bbox, hits = best
            for p in hits:
                self._evict(p)
            return self._keep(t, bbox, required, halo)
        self.dropped.append(text)
        return None

    def attach(self, t, artist) -> None:
        """Remove ``artist`` (a town's square) with the label ``t`` if the label gives way later."""
        for p in self.placed:
            if p.artists and p.artists[0] is t:
                p.artists.append(artist)
                return

    def _keep(self, t, bbox, required, halo):
        h = add_halo(t, halo)
        self.placed.append(_Placed(bbox, [t] + ([h] if h is not None else []), required, t.get_text()))
        return t

    def _evict(self, p: _Placed) -> None:
        for artist in p.artists:
            artist.remove()
        self.placed.remove(p)
        self.dropped.append(p.text)


def add_halo(t, halo) -> None:
    """A white halo under a label, drawn as a separate copy: text with path effects is written to the PDF as
    outlines, so the label itself stays plain text (extractable by ``pdftotext``) on top of its halo."""
    if not halo:
        return None
    ax = t.axes
    props = dict(
        transform=t.get_transform(), ha=t.get_ha(), va=t.get_va(), fontproperties=t.get_fontproperties(),
        rotation=t.get_rotation(), linespacing=t._linespacing, color="white", zorder=t.get_zorder() - 0.01,
        path_effects=halo, gid=HALO_GID,
    )
    x, y = t.get_position()
    return ax.text(x, y, t.get_text(), **props)


def halo_annotation(ax, t, halo) -> None:
    """The halo of an annotation (a graticule label): a white stroked copy just below it."""
    ax.annotate(t.get_text(), t.xy, xytext=t.xyann, textcoords=t.anncoords, ha=t.get_ha(), va=t.get_va(),
                rotation=t.get_rotation(), fontproperties=t.get_fontproperties(), color="white",
                zorder=t.get_zorder() - 0.01, path_effects=halo, gid=HALO_GID)


def halo(width=2.2):
    """The white stroke path effect of a halo ``width`` points wide."""
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]
