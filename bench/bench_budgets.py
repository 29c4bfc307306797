"""Budget benchmarks (issue 14 §1). Prints its figures, each beside its baseline measured in the same run.

1. **Siting matrix** of the bundled demand (72,574 cells) and its default candidates (19,183 town cells) at
   ``--radius`` (default 5,000 m, 7.9 M pairs): the previous construction (Python lists of ints, then COO ->
   CSR), the chunked 32-bit one of :func:`stations.proximity.coverage_matrix`, and the pair count alone
   (:func:`stations.budget.estimate_coverage_pairs`, what a request pays before it is refused or allowed).
2. **GeoTIFF of 4000 x 4000 pixels** (a few KB on disk): reading its band as the demand reader did before
   (``read`` + float64) against reading its header (:func:`stations.budget.raster_size`).
3. **Zip-bomb XLSX** (``--bomb-mb`` MB of XML, default 20, in a few tens of KB): openpyxl reading its rows
   (what the candidate reader did before checking the row limit) against :func:`stations.budget.check_xlsx`.
4. **Polygon of 1 x 1 degree** near Kunming: the H3 cells at resolution 9 listed by ``h3.geo_to_cells`` against
   their estimate from the equal-area area (:func:`stations.budget.polygon_cells`): time and the estimate's error.

Each method runs in a fresh child process that resets its peak-RSS counter (``/proc/self/clear_refs``) before
the method, so "peak" is the method's own high-water mark above the resident size before it.

Usage::

    python bench/bench_budgets.py [--radius 5000] [--bomb-mb 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


# ------------------------------------------------------------------------------------------- methods
def _lists_matrix(site_lon, site_lat, demand_lon, demand_lat, radius):
    """The coverage matrix as it was built before issue 14: one query, Python lists of ints, COO -> CSR."""
    from scipy import sparse
    from scipy.spatial import cKDTree

    from stations.proximity import ecef

    n_s, n_d = len(site_lon), len(demand_lon)
    tree = cKDTree(ecef(site_lon, site_lat))
    lists = tree.query_ball_point(ecef(demand_lon, demand_lat), radius * (1 + 1e-12))
    rows, cols = [], []
    for j, hits in enumerate(lists):
        if hits:
            rows.extend(hits)
            cols.extend([j] * len(hits))
    data = np.ones(len(rows), dtype=bool)
    return sparse.csr_matrix((data, (np.asarray(rows, np.int64), np.asarray(cols, np.int64))), shape=(n_s, n_d))


def _siting_inputs():
    from stations.demand import load_demand
    from stations.siting import default_candidates

    d = load_demand()
    c = default_candidates(d)
    return c["lon"].to_numpy(), c["lat"].to_numpy(), d["lon"].to_numpy(), d["lat"].to_numpy()


def method(name: str, args: dict) -> dict:
    """Run one method in this (child) process; returns its figures."""
    out: dict = {}
    if name.startswith("matrix") or name == "count":
        from stations import budget
        from stations.proximity import coverage_matrix

        slon, slat, dlon, dlat = _siting_inputs()
        before = _kb("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        if name == "matrix-lists":
            out["pairs"] = int(_lists_matrix(slon, slat, dlon, dlat, args["radius"]).nnz)
        elif name == "matrix-chunks":
            out["pairs"] = int(coverage_matrix(slon, slat, dlon, dlat, args["radius"]).nnz)
        else:
            out["pairs"] = budget.estimate_coverage_pairs(dlon, dlat, slon, slat, args["radius"])
    elif name.startswith("raster"):
        import rasterio

        from stations import budget

        before = _kb("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        if name == "raster-read":
            with rasterio.open(args["path"]) as src:
                arr = src.read(1, masked=True)
            data = np.ma.filled(arr.astype(float), np.nan)
            out["pixels"] = int(data.size)
        else:
            out["pixels"] = budget.raster_size(args["path"]).pixels
    elif name.startswith("xlsx"):
        from stations import budget

        before = _kb("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        if name == "xlsx-openpyxl":
            import openpyxl

            wb = openpyxl.load_workbook(args["path"], read_only=True, data_only=True)
            ws = wb.worksheets[0]
            ws.reset_dimensions()
            out["rows"] = sum(1 for _ in ws.iter_rows(values_only=True))
            wb.close()
        else:
            try:
                budget.check_xlsx(args["path"])
                out["refused"] = False
            except budget.LimitError as exc:
                out["refused"] = True
                out["message"] = str(exc)[:100]
    else:  # polygon
        import h3
        import shapely

        from stations import budget

        poly = shapely.box(102.2, 24.5, 103.2, 25.5)
        budget.polygon_cells([shapely.box(0, 0, 1e-3, 1e-3)], 9)  # imports and the projection, outside the timing
        before = _kb("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        if name == "polygon-h3":
            out["cells"] = len(h3.geo_to_cells(poly.__geo_interface__, 9))
        else:
            out["cells"] = round(budget.polygon_cells([poly], 9))
    out["seconds"] = time.perf_counter() - t0
    out["peak_mb"] = max(0, _kb("VmHWM") - before) / 1024
    return out


def run_child(name: str, args: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--child-args", json.dumps(args)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1] if res.stderr.strip() else f"exit {res.returncode}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------- inputs
def _tiff(path: Path) -> Path:
    import rasterio
    from rasterio.transform import from_bounds
    from rasterio.windows import Window

    with rasterio.open(path, "w", driver="GTiff", width=4000, height=4000, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_bounds(97.5, 21.1, 106.2, 29.3, 4000, 4000), compress="deflate", tiled=True,
                       blockxsize=256, blockysize=256, sparse_ok=True, nodata=0) as dst:
        dst.write(np.ones((1, 256, 256), dtype="float32"), window=Window(0, 0, 256, 256))
    return path


def _bomb(path: Path, mb: int) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_budgets import zip_bomb_xlsx

    return zip_bomb_xlsx(path, mb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--radius", type=float, default=5000.0)
    ap.add_argument("--bomb-mb", type=int, default=20)
    ap.add_argument("--child")
    ap.add_argument("--child-args")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(method(a.child, json.loads(a.child_args))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tif = _tiff(Path(tmp) / "pop.tif")
        bomb = _bomb(Path(tmp) / "bomb.xlsx", a.bomb_mb)
        print(f"== siting matrix at {a.radius:g} m (bundled demand x default candidates)")
        for name in ("matrix-lists", "matrix-chunks", "count"):
            r = run_child(name, {"radius": a.radius})
            label = {"matrix-lists": "before: Python lists", "matrix-chunks": "now: 32-bit chunks",
                     "count": "pair count only"}[name]
            print(f"  {label:<24} {r.get('pairs', 0):>12,} pairs  {r.get('seconds', 0):7.2f} s  peak +{r.get('peak_mb', 0):7.0f} MB"
                  + (f"  {r['error']}" if "error" in r else ""))
        print(f"== GeoTIFF 4000 x 4000 pixels, {tif.stat().st_size / 1024:.0f} KB on disk")
        for name, label in (("raster-read", "before: read the band"), ("raster-header", "now: read the header")):
            r = run_child(name, {"path": str(tif)})
            print(f"  {label:<24} {r.get('pixels', 0):>12,} pixels {r.get('seconds', 0):7.3f} s  peak +{r.get('peak_mb', 0):7.0f} MB")
        print(f"== zip-bomb XLSX: {a.bomb_mb} MB of XML in {bomb.stat().st_size / 1024:.0f} KB")
        for name, label in (("xlsx-openpyxl", "before: openpyxl rows"), ("xlsx-check", "now: zip directory")):
            r = run_child(name, {"path": str(bomb)})
            what = f"{r['rows']:>12,} rows  " if "rows" in r else ("     refused   " if r.get("refused") else "     allowed   ")
            print(f"  {label:<24} {what}{r.get('seconds', 0):7.3f} s  peak +{r.get('peak_mb', 0):7.0f} MB")
        print("== polygon 1 x 1 degree near Kunming, H3 resolution 9")
        h = run_child("polygon-h3", {})
        e = run_child("polygon-estimate", {})
        print(f"  {'before: list the cells':<24} {h.get('cells', 0):>12,} cells  {h.get('seconds', 0):7.3f} s  peak +{h.get('peak_mb', 0):7.0f} MB")
        err = 100 * (e.get("cells", 0) - h.get("cells", 1)) / max(h.get("cells", 1), 1)
        print(f"  {'now: estimate from area':<24} {e.get('cells', 0):>12,} cells  {e.get('seconds', 0):7.3f} s  "
              f"peak +{e.get('peak_mb', 0):7.0f} MB  (estimate {err:+.1f} %)")


if __name__ == "__main__":
    main()
