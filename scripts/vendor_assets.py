#!/usr/bin/env python3
"""Copy the third-party browser assets the web pages use into webmap/static/vendor/.

Nothing is loaded from a CDN: every script, stylesheet and image comes from an npm package fetched with
the ordinary npm client (``npm pack``), copied here with its licence, and served by the app under /static.

    python scripts/vendor_assets.py            # re-fetch the pinned versions and copy them
    python scripts/vendor_assets.py --check    # only verify that the copied files exist

The versions are pinned below; webmap/static/vendor/README.md is rewritten from the same table.
``TEST_PACKAGES`` are used by the browser tests only (axe-core, the accessibility engine): they go to
tests/vendor/, never under /static, so no page (and no offline cache) ships them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

WORKBOX_VERSION = "7.3.0"

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "webmap" / "static" / "vendor"

# npm package, version, target folder, files to copy (relative to the package root), licence file, licence
PACKAGES = [
    {
        "npm": "leaflet",
        "version": "1.9.4",
        "dir": "leaflet",
        "files": ["dist/leaflet.js", "dist/leaflet.css", "dist/images/layers.png", "dist/images/layers-2x.png",
                  "dist/images/marker-icon.png", "dist/images/marker-icon-2x.png", "dist/images/marker-shadow.png"],
        "licence_file": "LICENSE",
        "licence": "BSD-2-Clause",
        "homepage": "https://leafletjs.com/",
    },
    {
        "npm": "leaflet.markercluster",
        "version": "1.5.3",
        "dir": "leaflet.markercluster",
        "files": ["dist/leaflet.markercluster.js", "dist/MarkerCluster.css", "dist/MarkerCluster.Default.css"],
        "licence_file": "MIT-LICENCE.txt",
        "licence": "MIT",
        "homepage": "https://github.com/Leaflet/Leaflet.markercluster",
    },
    {
        "npm": "gcoord",
        "version": "1.0.7",
        "dir": "gcoord",
        "files": ["dist/gcoord.global.prod.js"],
        "licence_file": "LICENSE",
        "licence": "MIT",
        "homepage": "https://github.com/hujiulong/gcoord",
    },
    # the finder's service worker (webmap/offline.py, /sw.js): workbox-sw and the modules it imports at start,
    # all from the app's own copy (modulePathPrefix), never from Google's CDN
    {
        "npm": "workbox-sw",
        "version": WORKBOX_VERSION,
        "dir": "workbox",
        "files": ["build/workbox-sw.js"],
        # its built-in default module path is Google's CDN (used only when modulePathPrefix is not set): the copy
        # defaults to the app's own folder instead, so no path through the loader can reach a CDN
        "rewrite": {"build/workbox-sw.js": [(f"https://storage.googleapis.com/workbox-cdn/releases/{WORKBOX_VERSION}",
                                             "/static/vendor/workbox")]},
        "licence_file": "LICENSE",
        "licence": "MIT",
        "homepage": "https://developer.chrome.com/docs/workbox",
    },
    {
        "npm": "workbox-core",
        "version": WORKBOX_VERSION,
        "dir": "workbox",
        "files": ["build/workbox-core.prod.js"],
        "licence_file": "LICENSE",
        "licence": "MIT",
        "homepage": "https://developer.chrome.com/docs/workbox",
    },
    {
        "npm": "workbox-routing",
        "version": WORKBOX_VERSION,
        "dir": "workbox",
        "files": ["build/workbox-routing.prod.js"],
        "licence_file": "LICENSE",
        "licence": "MIT",
        "homepage": "https://developer.chrome.com/docs/workbox",
    },
    {
        "npm": "workbox-strategies",
        "version": WORKBOX_VERSION,
        "dir": "workbox",
        "files": ["build/workbox-strategies.prod.js"],
        "licence_file": "LICENSE",
        "licence": "MIT",
        "homepage": "https://developer.chrome.com/docs/workbox",
    },
    {
        "npm": "workbox-precaching",
        "version": WORKBOX_VERSION,
        "dir": "workbox",
        "files": ["build/workbox-precaching.prod.js"],
        "licence_file": "LICENSE",
        "licence": "MIT",
        "homepage": "https://developer.chrome.com/docs/workbox",
    },
    {
        "npm": "workbox-expiration",
        "version": WORKBOX_VERSION,
        "dir": "workbox",
        "files": ["build/workbox-expiration.prod.js"],
        "licence_file": "LICENSE",
        "licence": "MIT",
        "homepage": "https://developer.chrome.com/docs/workbox",
    },
    {
        "npm": "workbox-cacheable-response",
        "version": WORKBOX_VERSION,
        "dir": "workbox",
        "files": ["build/workbox-cacheable-response.prod.js"],
        "licence_file": "LICENSE",
        "licence": "MIT",
        "homepage": "https://developer.chrome.com/docs/workbox",
    },
]


# used by the tests only, copied to tests/vendor/<dir>/ (same fields as PACKAGES)
TEST_VENDOR = ROOT / "tests" / "vendor"
TEST_PACKAGES = [
    {
        "npm": "axe-core",
        "version": "4.14.1",
        "dir": "axe-core",
        "files": ["axe.min.js"],
        "licence_file": "LICENSE",
        "licence": "MPL-2.0",
        "homepage": "https://github.com/dequelabs/axe-core",
    },
]


def _root(pkg: dict) -> Path:
    return TEST_VENDOR if pkg in TEST_PACKAGES else VENDOR


def fetch(pkg: dict, workdir: Path) -> Path:
    spec = f"{pkg['npm']}@{pkg['version']}"
    workdir.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["npm", "pack", spec, "--json"], cwd=workdir, check=True, capture_output=True, text=True)
    tgz = workdir / json.loads(out.stdout)[0]["filename"]
    dest = workdir / pkg["dir"]
    dest.mkdir(parents=True)
    with tarfile.open(tgz) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package"


def write_readme() -> None:
    lines = [
        "# Vendored browser assets",
        "",
        "Copied by `scripts/vendor_assets.py` from the npm registry (`npm pack`); served by the app under",
        "`/static/vendor/`. No page loads anything from a CDN. Each folder holds the package's licence file.",
        "",
        "| folder | npm package | version | licence | files |",
        "|---|---|---|---|---|",
    ]
    for p in PACKAGES:
        files = ", ".join(Path(f).name for f in p["files"])
        lines.append(f"| `{p['dir']}/` | [{p['npm']}]({p['homepage']}) | {p['version']} | {p['licence']} "
                     f"(`{p['licence_file']}`) | {files} |")
    lines += [
        "",
        "Folium's own defaults (jQuery, Bootstrap, Font Awesome, Leaflet.awesome-markers, glyphicons) are not",
        "used: `webmap.maps.YizhanMap` sets `default_js`/`default_css` to the Leaflet files above only.",
        "The service icons are the project's own SVG (`webmap/static/icons.svg`).",
        "",
        "`gcoord` is the finder's one source of the GCJ-02 (Amap) shift, the same published formula as",
        "`stations/coords.py` (`tests/test_browser_finder.py` compares the two).",
        "",
        "`workbox/` holds the Workbox modules the finder's service worker (`/sw.js`, `webmap/offline.py`) imports",
        "with `modulePathPrefix` set to this folder (the production builds; one MIT `LICENSE` for all of them).",
        "The copy of `workbox-sw.js` has one line changed: its default module path, Google's CDN, is this folder.",
        "",
    ]
    (VENDOR / "README.md").write_text("\n".join(lines), encoding="utf-8")


def _rel(f: str) -> Path:
    """Where a package file goes inside its folder: without the package's dist/ or build/ prefix."""
    for prefix in ("dist/", "build/"):
        if f.startswith(prefix):
            return Path(f).relative_to(prefix)
    return Path(f)


def check() -> int:
    missing = [_root(p) / p["dir"] / _rel(f) for p in PACKAGES + TEST_PACKAGES for f in p["files"] + [p["licence_file"]]]
    missing = [m for m in missing if not m.exists()]
    for m in missing:
        print(f"missing: {m}", file=sys.stderr)
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check that the vendored files are present")
    args = ap.parse_args(argv)
    if args.check:
        return check()
    if shutil.which("npm") is None:
        print("npm is needed to fetch the packages (apt-get install npm)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        # several packages may share a folder (workbox); test-only packages go to tests/vendor
        for root, folder in {(_root(pkg), pkg["dir"]) for pkg in PACKAGES + TEST_PACKAGES}:
            if (root / folder).exists():
                shutil.rmtree(root / folder)
        for pkg in PACKAGES + TEST_PACKAGES:
            src = fetch(pkg, Path(tmp) / pkg["npm"])
            dest = _root(pkg) / pkg["dir"]
            for f in pkg["files"]:
                rel = _rel(f)
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / f, dest / rel)
                for old, new in pkg.get("rewrite", {}).get(f, []):
                    text = (dest / rel).read_text(encoding="utf-8")
                    if text.count(old) != 1:
                        raise SystemExit(f"{pkg['npm']}: expected {old!r} once in {f} (a new release changed it?)")
                    (dest / rel).write_text(text.replace(old, new), encoding="utf-8")
            shutil.copyfile(src / pkg["licence_file"], dest / pkg["licence_file"])
            print(f"{pkg['npm']}@{pkg['version']} -> {dest.relative_to(ROOT)}")
    write_readme()
    return check()


if __name__ == "__main__":
    raise SystemExit(main())
