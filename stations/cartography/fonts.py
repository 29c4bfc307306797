"""Fonts for the Chinese map text, and the lock that serialises drawing.

:func:`find_cjk_font` takes the first CJK font found among ``YIZHAN_CJK_FONT`` (``stations.config``), Debian
``fonts-noto-cjk`` (``/usr/share/fonts/opentype/noto/NotoSansCJK-{Regular,Bold}.ttc``) and a few other Debian
CJK fonts, and raises :class:`CJKFontError` with the fix when there is none. PDFs embed it as a subset CID
TrueType font (``pdf.fonttype`` 42) so ``pdftotext`` extracts the Chinese text; the CFF outlines of Noto
Sans CJK are converted to TrueType outlines in the subset (matplotlib would otherwise embed CFF data in a
TrueType slot, which some PDF readers reject).

matplotlib's rcParams are process-global: everything drawn under :func:`font_context` (sheets, the atlas,
charts) holds :data:`RENDER_LOCK`, so server threads draw one figure at a time.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stations.config import settings
from stations.errors import CJKFontError

logging.getLogger("fontTools").setLevel(logging.WARNING)  # the subsetter logs every table at INFO

#: (regular, bold) candidates, first found wins. Debian packages: fonts-noto-cjk, fonts-wqy-microhei,
#: fonts-wqy-zenhei, fonts-droid-fallback, fonts-arphic-uming.
FONT_CANDIDATES: tuple[tuple[str, str | None], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Bold.otf"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", None),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", None),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", None),
)

#: one figure is drawn at a time in the process (matplotlib rcParams are global; web server threads)
RENDER_LOCK = threading.RLock()


@dataclass(frozen=True)
class FontSet:
    family: str  # the family name matplotlib knows the regular face by
    bold_family: str | None
    regular_path: str
    bold_path: str | None


_FONTS: FontSet | None = None


def _family_for(path: str) -> str | None:
    """Register every face of ``path`` with matplotlib and return the family of its Simplified Chinese face."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(path)
    names = [f.name for f in font_manager.fontManager.ttflist if f.fname == path]
    if not names:
        return None
    for pref in (" SC", "SC", "GB", "Micro Hei", "Zen Hei", "Fallback", "Ming"):
        for name in names:
            if pref in name and "Mono" not in name:
                return name
    return names[0]


def find_cjk_font() -> FontSet:
    """Locate (once) and register a CJK font; raises :class:`CJKFontError` with the fix when none exists."""
    global _FONTS
    if _FONTS is not None:
        return _FONTS
    candidates: list[tuple[str, str | None]] = []
    env = settings().cjk_font
    if env:
        if not Path(env).is_file():
            raise CJKFontError(f"YIZHAN_CJK_FONT={env!r} is not a font file")
        candidates.append((env, None))
    candidates.extend(FONT_CANDIDATES)
    for regular, bold in candidates:
        if not Path(regular).is_file():
            continue
        family = _family_for(regular)
        if not family:
            continue
        bold_family = _family_for(bold) if bold and Path(bold).is_file() else None
        install_cff_subset_patch()
        _FONTS = FontSet(family, bold_family, regular, bold if bold_family else None)
        return _FONTS
    raise CJKFontError(
        "no CJK font found for the Chinese map text: install the Debian package fonts-noto-cjk "
        "(apt-get install fonts-noto-cjk, gives /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc) "
        "or point YIZHAN_CJK_FONT to a .ttf/.otf/.ttc font with Simplified Chinese glyphs"
    )


def otf_to_ttf(font) -> None:
    """Convert a (subset) CFF-flavoured OpenType font to TrueType (quadratic ``glyf``) in place."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    for tag in ("CFF ", "CFF2", "VORG"):
        if tag in font:
            del font[tag]
    for glyph in glyphs.values():
        glyph.recalcBounds(glyf)
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():
        width = hmtx.metrics[name][0]
        hmtx.metrics[name] = (width, getattr(glyph, "xMin", 0))
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for attr in (
        "maxTwilightPoints maxStorage maxFunctionDefs maxInstructionDefs maxStackElements "
        "maxSizeOfInstructions"
    ).split():
        setattr(maxp, attr, 0)
    maxp.maxFunctionDefs = 0
    maxp.maxComponentElements = max(
        (len(g.components) for g in glyphs.values() if hasattr(g, "components")), default=0
    )
    maxp.numGlyphs = len(glyph_order)
    maxp.recalc(font)
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = glyph_order
    font.sfntVersion = "\000\001\000\000"
    head = font["head"]
    head.glyphDataFormat = 0
    head.indexToLocFormat = 0


def install_cff_subset_patch() -> None:
    """Make matplotlib's PDF font subsetting embed TrueType outlines for CFF (``.otf``/``.ttc``) fonts.

    matplotlib (through 3.11) writes a CFF-flavoured subset into a ``/FontFile2`` (TrueType) stream; poppler
    tolerates it but stricter readers do not. The wrapper converts the subset to TrueType outlines; glyph ids
    are unchanged. If matplotlib's private helper changes shape, nothing is patched.
    """
    try:
        from matplotlib.backends import _backend_pdf_ps as pdfps
    except ImportError:  # pragma: no cover - a matplotlib without the private module: nothing to patch
        return
    original = getattr(pdfps, "get_glyphs_subset", None)
    if original is None or getattr(original, "_yizhan_cff", False):
        return

    @contextmanager
    def get_glyphs_subset(fontfile, glyphs):
        with original(fontfile, glyphs) as result:
            font = getattr(result, "font", None)
            if font is not None and "CFF " in font:
                try:
                    otf_to_ttf(font)
                except Exception:  # noqa: BLE001 # pragma: no cover - keep the CFF subset rather than fail the sheet
                    pass
            yield result

    get_glyphs_subset._yizhan_cff = True  # type: ignore[attr-defined]
    pdfps.get_glyphs_subset = get_glyphs_subset


@contextmanager
def font_context():
    """matplotlib settings for a sheet (the CJK font, TrueType embedding, PDF compression) under the render
    lock; yields the :class:`FontSet`."""
    import matplotlib as mpl

    with RENDER_LOCK:
        fonts = find_cjk_font()
        families = [fonts.family] + ([fonts.bold_family] if fonts.bold_family else []) + ["DejaVu Sans"]
        with mpl.rc_context(
            {
                "font.family": "sans-serif",
                "font.sans-serif": families,
                "pdf.fonttype": 42,
                "ps.fonttype": 42,
                "axes.unicode_minus": False,
                "svg.fonttype": "none",
                "pdf.compression": 6,
                "hatch.linewidth": 0.35,
            }
        ):
            yield fonts
