"""Sheets framed for the wall (issue 12 §4): the area and its dense core inside the frame with margins, labels
that never overlap, lake outlines left out where they are too coarse for the scale."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stations import cartography, geo, sheet_layers
from stations.cartography import framing, labels
from stations.cartography.sheet import LAKE_MAX_VERTEX_SPACING_MM, lake_vertex_spacing_mm

PAPERS = [("A4", "portrait"), ("A4", "landscape"), ("A3", "portrait"), ("A3", "landscape")]
#: a sample of counties: a city district with its people at one end (五华区), the district holding 滇池's
#: shore, a county with a large lake (大理市), the largest county (香格里拉市), a long thin one (贡山), a border city
COUNTIES = ["530102", "530112", "532901", "533401", "533323", "532801"]


@pytest.fixture(scope="module")
def demo_stations(demo_db_url):
    from stations.registry import Registry

    return Registry(demo_db_url).load()


@pytest.fixture(scope="module")
def ctx(demo_stations):
    return sheet_layers.context(demo_stations)


def _areas():
    g = geo.geography()
    return ["530000", *sorted(g.prefecture_names), *COUNTIES]


def _station_core(stations, area, crs):
    """The stations' 90 % box (5th to 95th percentile on each axis) of the area, in ``crs``, computed here."""
    level = cartography.area_level(area)
    if level == "province":
        st = stations
    else:
        column = "prefecture_adcode" if level == "prefecture" else "county_adcode"
        st = stations[stations[column].astype(str) == area]
    p = st.geometry.to_crs(crs)
    x, y = p.x.to_numpy(), p.y.to_numpy()
    return np.quantile(x, 0.05), np.quantile(y, 0.05), np.quantile(x, 0.95), np.quantile(y, 0.95)


def _margins(box, extent):
    """The free share of the frame on the left, right, bottom and top of ``box``."""
    x0, x1, y0, y1 = extent
    w, h = x1 - x0, y1 - y0
    return ((box[0] - x0) / w, (x1 - box[2]) / w, (box[1] - y0) / h, (y1 - box[3]) / h)


def test_every_frame_holds_the_area_with_a_margin_and_never_cuts_the_dense_core(ctx, demo_stations):
    """The province, every prefecture and a sample of counties, on both papers in both orientations."""
    checked = 0
    for area in _areas():
        for paper, orientation in PAPERS:
            req = cartography.validate(area, paper, orientation, "outlines,stations")
            frame = framing.plan_frame(req, ctx)
            lay = cartography.layout_for(paper, orientation)
            x0, x1, y0, y1 = frame.extent
            # a true, round scale: the frame's millimetres times the denominator are its metres
            assert (x1 - x0) == pytest.approx(lay.map[2] / 1000 * frame.denominator, rel=1e-9)
            assert (y1 - y0) == pytest.approx(lay.map[3] / 1000 * frame.denominator, rel=1e-9)
            where = f"{area} {paper} {orientation}"
            # the area's bounding box, computed here from the county/prefecture polygon
            g = geo.geography()
            level = cartography.area_level(area)
            poly = {"province": g.province, "prefecture": g.prefectures, "county": g.counties}[level]
            poly = poly if level == "province" else poly[poly["adcode"].astype(str) == area]
            abox = poly.to_crs(frame.crs).total_bounds
            assert min(_margins(abox, frame.extent)) >= 0.045, where
            # the dense core: the stations' 90 % box, never cut and never against the frame
            core = _station_core(demo_stations, area, frame.crs)
            assert min(_margins(core, frame.extent)) >= 0.10, where
            # and not simply zoomed out: the area fills most of the frame one way or the other
            fill = max((abox[2] - abox[0]) / (x1 - x0), (abox[3] - abox[1]) / (y1 - y0))
            assert fill >= 0.45, where
            checked += 1
    assert checked == (17 + len(COUNTIES)) * 4


def test_wuhua_on_a3_landscape_keeps_the_city_core_off_the_bottom_edge(ctx, demo_stations):
    """五华区's people live at its southern tip: the core has room below it, and the sheet draws that frame."""
    req = cartography.validate("530102", "A3", "landscape", "outlines,stations")
    frame = framing.plan_frame(req, ctx)
    core = _station_core(demo_stations, "530102", frame.crs)
    left, right, bottom, top = _margins(core, frame.extent)
    assert bottom >= 0.12
    with cartography.font_context():
        _fig, info = cartography.build_sheet(req, ctx)
    assert info.map_extent == pytest.approx(frame.extent)
    assert info.scale_denominator == frame.denominator


def test_fit_frame_by_hand():
    """A 10 x 40 km area whose core is its southern 10 x 10 km, on a 200 x 100 mm frame."""
    area = (0.0, 0.0, 10_000.0, 40_000.0)
    core = (0.0, 0.0, 10_000.0, 10_000.0)
    denominator, (x0, x1, y0, y1) = framing.fit_frame(area, core, (200.0, 100.0), 0.05, 0.12)
    # the height decides: 40 km with 5 % above and below needs 44.4 km; with the core 12 % above the bottom
    # edge and the area 5 % below the top, 40 km + 0.17 h <= h: h >= 48.2 km, i.e. 1:481,928 -> 1:500,000
    assert denominator == 500_000
    assert (x1 - x0, y1 - y0) == pytest.approx((100_000.0, 50_000.0))
    assert (0 - y0) / 50_000 >= 0.12 - 1e-9  # the core's bottom margin
    assert (y1 - 40_000) / 50_000 >= 0.05 - 1e-9
    # horizontally the frame is centred on the core
    assert (x0 + x1) / 2 == pytest.approx(5_000.0)
    # without a core: centred on the area, at the first round scale that holds it with 5 % margins
    denominator, (x0, x1, y0, y1) = framing.fit_frame(area, None, (200.0, 100.0), 0.05, 0.12)
    assert denominator == 450_000 and (y0 + y1) / 2 == pytest.approx(20_000.0)


def test_core_box_weights_workers_and_skips_empty_points():
    xs = np.arange(100, dtype=float)
    box = framing.quantile_box(xs, xs)
    assert box == pytest.approx((4.95, 4.95, 94.05, 94.05), abs=1.0)
    # weighted: nine tenths of the workers at x = 0 pull the 95th percentile down to it; weight 0 is ignored
    w = np.where(xs == 0, 900.0, 1.0)
    w[-1] = 0.0
    wbox = framing.quantile_box(xs, xs, w)
    assert wbox[0] == 0.0 and wbox[2] < 60
    assert framing.quantile_box([], []) is None
    assert framing.core_box(None, None) is None


# ------------------------------------------------------------------------------------------------ labels


def _label_extents(fig):
    """(text, display bbox) of every visible label in the map axes (halos are copies below their label)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    out = []
    for t in ax.texts:
        if t.get_gid() == labels.HALO_GID or not t.get_visible() or not t.get_text().strip():
            continue
        bbox = t.get_window_extent(renderer)
        patch = t.get_bbox_patch()
        if patch is not None:
            from matplotlib.transforms import Bbox

            bbox = Bbox.union([bbox, patch.get_window_extent(renderer)])
        out.append((t.get_text(), bbox))
    return out


def _overlapping(extents):
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(extents, 2) if ba.overlaps(bb)]


@pytest.mark.slow
def test_no_two_labels_overlap_on_any_prefecture_sheet(ctx):
    """Every prefecture sheet with every layer (gap numbers and site ranks too), and the province: the rendered
    extents of the map's Text artists never overlap (lake names included)."""
    g = geo.geography()
    for area in ["530000", *sorted(g.prefecture_names)]:
        req = cartography.validate(area, "A4", "portrait", "outlines,stations,coverage,gaps,recommended")
        with cartography.font_context():
            fig, _info = cartography.build_sheet(req, ctx)
            extents = _label_extents(fig)
        assert len(extents) > 10, area
        assert _overlapping(extents) == [], area


def test_dali_city_and_erhai_labels_do_not_collide(ctx):
    """大理市 over 洱海: on the prefecture sheet both names are there and apart; on 大理市's own sheet too."""
    for area, orientation in (("532900", "portrait"), ("532900", "landscape"), ("532901", "portrait")):
        req = cartography.validate(area, "A4", orientation, "outlines,stations,gaps")
        with cartography.font_context():
            fig, _info = cartography.build_sheet(req, ctx)
            extents = _label_extents(fig)
        names = [t for t, _ in extents]
        assert "大理市" in names, area
        assert _overlapping(extents) == [], area


def test_a_required_label_displaces_an_optional_one_rather_than_overlap():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from matplotlib.transforms import Bbox

    fig = Figure(figsize=(3, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    placer = cartography.LabelPlacer(ax, fig.canvas.get_renderer())
    # an optional label in the middle, everything around it blocked (furniture), then a required label there:
    # the optional one gives way
    opt = placer.place(0.5, 0.5, "WWWW", fontsize=8, path_effects=labels.halo(2))
    assert opt is not None
    b = placer.placed[-1].bbox
    e = 0.5  # the blocks keep half a pixel off the label's box (touching counts as overlapping)
    for x0, y0, x1, y1 in ((0, 0, b.x0 - e, 300), (b.x1 + e, 0, 300, 300), (b.x0, 0, b.x1, b.y0 - e), (b.x0, b.y1 + e, b.x1, 300)):
        placer.block(Bbox.from_extents(x0, y0, x1, y1))
    req = placer.place(0.5, 0.5, "MMMM", fontsize=7.5, required=True)
    assert req is not None
    assert "WWWW" in placer.dropped
    assert opt not in ax.texts
    assert [t.get_text() for t in ax.texts if t.get_gid() != labels.HALO_GID] == ["MMMM"]
    # a second required label where there is no room left is dropped, never drawn over the first
    again = placer.place(0.5, 0.5, "MMMM", fontsize=7.5, required=True)
    assert again is None
    assert len([t for t in ax.texts if t.get_gid() != labels.HALO_GID]) == 1


# ------------------------------------------------------------------------------------------------ lakes


def test_lake_vertex_spacing_by_hand():
    import geopandas as gpd
    from shapely.geometry import Polygon

    square = Polygon([(0, 0), (4000, 0), (4000, 4000), (0, 4000)])  # 4 vertices 4 km apart
    fine = Polygon([(x, 0) for x in range(0, 4000, 100)] + [(4000, 4000), (0, 4000)])
    frame = gpd.GeoDataFrame(geometry=[square, fine], crs="EPSG:3857")
    at_1m = lake_vertex_spacing_mm(frame, 1_000_000)
    assert at_1m[0] == pytest.approx(4.0)  # 16 km of outline, 4 segments, 1 mm per km
    assert at_1m[1] == pytest.approx(fine.length / 42 / 1000)  # 42 vertices, 42 segments of the closed ring
    assert lake_vertex_spacing_mm(frame, 250_000)[0] == pytest.approx(16.0)


def test_few_vertex_lakes_are_drawn_only_as_dots():
    import geopandas as gpd
    from shapely.geometry import Polygon

    from stations.cartography.sheet import lakes_too_coarse

    triangle = Polygon([(0, 0), (1500, 0), (0, 1500)])  # 1.5 km across, 1.7 km between vertices
    frame = gpd.GeoDataFrame(geometry=[triangle], crs="EPSG:3857")
    assert not lakes_too_coarse(frame, 1_500_000)[0]  # 1 mm across: a dot
    assert lakes_too_coarse(frame, 500_000)[0]  # 3 mm across: a visible triangle


def _lake_patches(fig):
    return [c for c in fig.axes[0].collections if c.get_zorder() == 2.5]


def test_coarse_lakes_are_left_out_of_county_sheets_and_drawn_on_prefecture_sheets(ctx):
    with cartography.font_context():
        fig, info = cartography.build_sheet(cartography.validate("532901", "A4", "portrait", "outlines,stations"), ctx)
        county_scale = info.scale_denominator
        assert any("湖泊轮廓数据过于概略，本比例尺下未绘出" in n for n in info.notes)
        assert "洱海" not in [t.get_text() for t in fig.axes[0].texts]
        fig, info = cartography.build_sheet(cartography.validate("532900", "A4", "portrait", "outlines,stations"), ctx)
        assert _lake_patches(fig)
        assert "洱海" in [t.get_text() for t in fig.axes[0].texts]
        prefecture_scale = info.scale_denominator
        fig, info = cartography.build_sheet(cartography.validate("yunnan", "A4", "portrait", "outlines,stations"), ctx)
        assert _lake_patches(fig) and not any("湖泊" in n for n in info.notes)
    # the rule, on the data: 洱海 has a point every ~1.7 mm at the prefecture's scale, ~5 mm at the county's
    lakes = geo.geography().optional("lakes")
    erhai = lakes[lakes["name_zh"] == "洱海"].to_crs(geo.METRIC_CRS)
    assert lake_vertex_spacing_mm(erhai, prefecture_scale)[0] < LAKE_MAX_VERTEX_SPACING_MM
    assert lake_vertex_spacing_mm(erhai, county_scale)[0] > LAKE_MAX_VERTEX_SPACING_MM
