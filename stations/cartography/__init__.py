"""Print-ready map sheets (PDF/PNG), the per-prefecture atlas and the charts, in Chinese.

One module per concern:

- :mod:`.request`: the vocabulary (papers, orientations, layers, symbols, radius) and ``parse_*`` / ``validate``;
- :mod:`.fonts`: finding the CJK font, the font subsetting workaround, the render lock;
- :mod:`.layout`: paper, margins and panels, type sizes, text wrapping;
- :mod:`.projection`: the projection of a sheet, round scales, the point scale factor, true north;
- :mod:`.context`: the geography, the stations and the analysis layers a sheet is drawn from;
- :mod:`.symbols`: station classes, their markers, the legend rows;
- :mod:`.labels`: the label placer and halos;
- :mod:`.furniture`: scale bar, north arrow, graticule, borders, locator inset;
- :mod:`.panels`: legend, statistics box, footer;
- :mod:`.sheet`: one sheet as a series of ``draw_*`` steps, ``make_sheet``, ``sheet_bytes``;
- :mod:`.framing`: the map frame of a sheet (scale and centre from the area and its dense core);
- :mod:`.atlas`: the cover and ``make_atlas`` (the province's atlas, or a prefecture's county atlas);
- :mod:`.county_atlas`: the county atlas: a cover, each county's sheet and the table of its stations;
- :mod:`.charts`: the coverage-versus-N curve of a recommendation.

Cartography receives the analysis layers (coverage, gaps, recommended sites) as data through
``Context(analysis_provider=...)``; it never imports :mod:`stations.coverage` or :mod:`stations.siting`
(:mod:`stations.sheet_layers` computes them). Bad arguments raise :class:`PrintError` (an
:class:`stations.errors.InputError` naming the parameter); a missing CJK font raises :class:`CJKFontError`.
"""

from stations.errors import CJKFontError, PrintError

from .atlas import AtlasInfo, cover_page, make_atlas
from .charts import coverage_curve
from .county_atlas import atlas_pages, rows_per_page, station_rows, table_pages
from .framing import Frame, plan_frame
from .context import (
    RECOMMENDED_N, AnalysisLayers, Context, area_level, area_name, buffer_coverage, is_demo, no_analysis, sheet_title,
    without_coverage,
)
from .fonts import FONT_CANDIDATES, RENDER_LOCK, FontSet, find_cjk_font, font_context
from .labels import LabelPlacer, label_point
from .layout import MIN_FONT_PT, Layout, layout_for, text_width_mm, wrap_text
from .panels import DEMO_NOTE, DISCLAIMER_TEXT, SOURCES_TEXT
from .projection import area_crs, nice_length_km, nice_scale, north_angle, point_scale_factor
from .request import (
    DEFAULT_DPI, DEFAULT_LAYERS, DEFAULT_RADIUS_M, DEFAULT_SYMBOLS, DPI_RANGE, LAYERS, ORIENTATIONS, PAPERS,
    PROVINCE_ADCODE, RADIUS_RANGE_M, SYMBOLS, SheetRequest, area_label, parse_area, parse_atlas_area, parse_dpi,
    parse_format, parse_layers, parse_orientation, parse_paper, parse_radius, parse_symbols, validate,
)
from .sheet import SheetInfo, build_sheet, make_sheet, sheet_bytes
from .symbols import (
    HARDSHIP_KEYS, SERVICE_LEVEL_STYLES, STATION_STYLES, service_counts, service_levels, station_classes, symbol_classes,
)

__all__ = [
    "AnalysisLayers", "AtlasInfo", "Frame", "area_label", "atlas_pages", "parse_atlas_area", "plan_frame",
    "rows_per_page", "station_rows", "table_pages", "CJKFontError", "Context", "DEFAULT_DPI", "DEFAULT_LAYERS", "DEFAULT_RADIUS_M",
    "DEFAULT_SYMBOLS", "DEMO_NOTE", "DISCLAIMER_TEXT", "DPI_RANGE", "FONT_CANDIDATES", "FontSet", "HARDSHIP_KEYS",
    "LAYERS", "LabelPlacer", "Layout", "MIN_FONT_PT", "ORIENTATIONS", "PAPERS", "PROVINCE_ADCODE", "PrintError",
    "RADIUS_RANGE_M", "RECOMMENDED_N", "RENDER_LOCK", "SERVICE_LEVEL_STYLES", "SOURCES_TEXT", "STATION_STYLES",
    "SYMBOLS", "SheetInfo", "SheetRequest", "area_crs", "area_level", "area_name", "buffer_coverage", "build_sheet",
    "cover_page", "coverage_curve", "find_cjk_font", "font_context", "is_demo", "label_point", "layout_for",
    "make_atlas", "make_sheet", "nice_length_km", "nice_scale", "no_analysis", "north_angle", "parse_area",
    "parse_dpi", "parse_format", "parse_layers", "parse_orientation", "parse_paper", "parse_radius", "parse_symbols",
    "point_scale_factor", "service_counts", "service_levels", "sheet_bytes", "sheet_title", "station_classes",
    "symbol_classes", "text_width_mm", "validate", "without_coverage", "wrap_text",
]
