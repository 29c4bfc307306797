"""Folium map building for the pages.

``YizhanMap`` is a ``folium.Map`` that pulls in nothing from a CDN: its ``default_js``/``default_css``
are only the vendored Leaflet files (no jQuery, Bootstrap, Font Awesome or awesome-markers), served from
``/static/vendor``. Stations are *not* added as Folium markers: the page loads them as GeoJSON from
``/api/stations?fields=compact`` and clusters them in the browser with Leaflet.markercluster, so the page
stays a few kilobytes and builds in milliseconds whatever the number of stations.

Tile providers (``TILES`` config / ``YIZHAN_TILES``):

==========  ====================================================================================
``auto``    the default: Tianditu when ``TIANDITU_KEY`` is set, else no tiles (the drawn base map of
            ``static/basemap.js``); the README says why
``osm``     OpenStreetMap standard tiles (light use only: the OSMF tile usage policy)
``amap``    Amap/Gaode road tiles. They are drawn in GCJ-02, so the page shifts every marker and
            outline from WGS-84 into GCJ-02 before drawing (``crs: "gcj02"`` in the page config) and
            shifts taps back.
``tianditu`` Tianditu vector + annotation tiles (CGCS2000, i.e. WGS-84 to within centimetres);
            needs ``TIANDITU_KEY`` from the environment, never stored in the repository
``none``    no tiles: the drawn base map (outlines, lakes, town labels)
URL         any ``http(s)://…{z}/{x}/{y}…`` template (treated as WGS-84/Web Mercator)
==========  ====================================================================================

Whatever the provider, the page watches its tiles (``static/basemap.js``): when the first few fail (no signal, a
blocked host, an intranet) it removes the tile layer and draws the same base as ``none``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import folium
from branca.element import MacroElement
from folium.template import Template

log = logging.getLogger(__name__)

YUNNAN_CENTER = (25.0, 101.6)  # (lat, lon) for Folium
YUNNAN_BOUNDS = ((21.1, 97.5), (29.3, 106.2))


@dataclass(frozen=True)
class TileConfig:
    name: str
    layers: tuple[dict, ...] = ()
    crs: str = "wgs84"  # the datum the tiles are drawn in: "wgs84" or "gcj02"
    hosts: tuple[str, ...] = field(default=())  # hosts the browser will fetch tiles from

    @property
    def has_tiles(self) -> bool:
        return bool(self.layers)


def _hosts(url: str, subdomains: str = "") -> tuple[str, ...]:
    host = urlsplit(url.replace("{s}", "a")).hostname or ""
    if "{s}" in url and subdomains:
        return tuple(urlsplit(url.replace("{s}", s)).hostname or "" for s in subdomains)
    return (host,) if host else ()


def tile_config(provider: str | None, tianditu_key: str = "") -> TileConfig:
    """The tile layers for a provider name (see the module docstring)."""
    provider = (provider or "auto").strip()
    low = provider.lower()
    if low == "auto":
        return tile_config("tianditu", tianditu_key) if tianditu_key else TileConfig("none")
    if low in ("none", "off", ""):
        return TileConfig("none")
    if low == "osm":
        url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        layer = {"url": url, "attr": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
                 "max_zoom": 19, "subdomains": ""}
        return TileConfig("osm", (layer,), "wgs84", _hosts(url))
    if low == "amap":
        url = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
        layer = {"url": url, "attr": "&copy; 高德地图 AutoNavi", "max_zoom": 18, "subdomains": "1234"}
        return TileConfig("amap", (layer,), "gcj02", _hosts(url, "1234"))
    if low == "tianditu":
        if not tianditu_key:
            log.warning("YIZHAN_TILES=tianditu but TIANDITU_KEY is not set: drawing without tiles")
            return TileConfig("none")
        layers = []
        hosts: tuple[str, ...] = ()
        for layer in ("vec", "cva"):
            url = (f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                   f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                   f"&TILECOL={{x}}&tk={tianditu_key}")
            layers.append({"url": url, "attr": "&copy; 天地图 Tianditu", "max_zoom": 18, "subdomains": "01234567"})
            hosts = _hosts(url, "01234567")
        return TileConfig("tianditu", tuple(layers), "wgs84", hosts)
    if low.startswith(("http://", "https://")) and "{z}" in provider:
        layer = {"url": provider, "attr": "tiles: " + (urlsplit(provider).hostname or ""), "max_zoom": 19,
                 "subdomains": "abc" if "{s}" in provider else ""}
        return TileConfig("custom", (layer,), "wgs84", _hosts(provider, "abc"))
    log.warning("unknown tile provider %r: drawing without tiles", provider)
    return TileConfig("none")


class YizhanMap(folium.Map):
    """A Folium map whose only third-party assets are the vendored Leaflet files.

    Its header drops Folium's page-wide additions (a second viewport tag with ``user-scalable=no``, which
    stops people zooming the text, and ``html, body {height: 100%}``): the page template owns those.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                #{{ this.get_name() }} { position: relative; width: 100%; height: 100%; }
                .leaflet-container { font-size: {{ this.font_size }}; }
            </style>
            <script>
                L_NO_TOUCH = {{ this.global_switches.no_touch|tojson }};
                L_DISABLE_3D = {{ this.global_switches.disable_3d|tojson }};
            </script>
        {% endmacro %}

        {% macro html(this, kwargs) %}
            <div class="folium-map" id={{ this.get_name()|tojson }}></div>
        {% endmacro %}

        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {
                    center: {{ this.location|tojson }},
                    crs: L.CRS.{{ this.crs }},
                    ...{{ this.options|tojavascript }}
                }
            );
            {%- if this.control_scale %}
            L.control.scale({imperial: false}).addTo({{ this.get_name() }});
            {%- endif %}
            {%- if this.zoom_control_position %}
            L.control.zoom({ position: {{ this.zoom_control|tojson }} }).addTo({{ this.get_name() }});
            {%- endif %}
        {% endmacro %}
        """
    )

    default_js: list[tuple[str, str]] = []
    default_css: list[tuple[str, str]] = []

    def __init__(self, static: Callable[[str], str], **kwargs):
        # instance attributes shadow the class lists: Folium reads self.default_js / self.default_css
        self.default_js = [
            ("leaflet", static("vendor/leaflet/leaflet.js")),
            ("markercluster", static("vendor/leaflet.markercluster/leaflet.markercluster.js")),
        ]
        self.default_css = [
            ("leaflet_css", static("vendor/leaflet/leaflet.css")),
            ("markercluster_css", static("vendor/leaflet.markercluster/MarkerCluster.css")),
        ]
        super().__init__(**kwargs)


class _Handle(MacroElement):
    """Publishes the Leaflet map object as ``window.YZ_MAP`` for the page script."""

    _template = Template(
        "{% macro script(this, kwargs) %}window.YZ_MAP = {{ this._parent.get_name() }};{% endmacro %}"
    )


def build_map(static: Callable[[str], str], tiles: TileConfig, *, lang: str = "zh") -> YizhanMap:
    """The finder's base map: Yunnan, the tile layers of ``tiles``, no markers (the page adds them)."""
    m = YizhanMap(
        static,
        location=list(YUNNAN_CENTER),
        zoom_start=6,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        zoom_control=True,
        minZoom=5,  # on the map itself (Folium puts min_zoom/max_zoom on its tile layer only);
        maxZoom=18,  # markercluster needs the map's maxZoom even when there are no tiles
        zoomSnap=0.5,  # lets the whole province fit a 390 px wide phone screen (zoom 5.5)
        zoomDelta=1,
        max_bounds=True,
        min_lat=15, max_lat=35, min_lon=90, max_lon=114,
        attribution_control=True,
    )
    for layer in tiles.layers:
        folium.TileLayer(
            tiles=layer["url"], attr=layer["attr"], max_zoom=layer["max_zoom"], name=tiles.name,
            subdomains=layer["subdomains"] or "abc", detect_retina=False, overlay=False, control=False,
        ).add_to(m)
    _Handle().add_to(m)
    return m


def render_parts(m: folium.Map) -> dict[str, str]:
    """Folium's page split in three for embedding in a Jinja template: header, html, script."""
    root = m.get_root()
    root.render()
    return {
        "header": root.header.render(),
        "html": root.html.render(),
        "script": root.script.render(),
    }
