#!/usr/bin/env python3
"""Re-extract the message catalogue and carry translations over from other copies of the zh catalogue.

    python scripts/merge_catalogues.py [OTHER.po ...]

1. ``pybabel extract`` (webmap/babel.cfg, keywords t and _l) into webmap/translations/messages.pot;
2. ``pybabel update`` of webmap/translations/zh/LC_MESSAGES/messages.po (no fuzzy matching: a guessed
   translation is worse than none, and tests/test_i18n.py refuses fuzzy entries);
3. every msgid still untranslated takes its translation from the first OTHER.po that has one (used when two
   branches each added strings to the catalogue: git cannot merge the .po and .mo files line by line);
4. ``pybabel compile``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TR = ROOT / "webmap" / "translations"
PO = TR / "zh" / "LC_MESSAGES" / "messages.po"


def run(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def main(others: list[str]) -> None:
    run("extract", "-F", "webmap/babel.cfg", "-k", "t", "-k", "_l", "--no-location", "--sort-output",
        "-o", str(TR / "messages.pot"), "webmap")
    run("update", "-i", str(TR / "messages.pot"), "-d", str(TR), "-l", "zh", "--no-fuzzy-matching", "--ignore-obsolete")
    with PO.open("rb") as fh:
        cat = read_po(fh, locale="zh")
    sources = []
    for other in others:
        with open(other, "rb") as fh:
            sources.append(read_po(fh, locale="zh"))
    filled = 0
    for msg in cat:
        if not msg.id or msg.string:
            continue
        for src in sources:
            theirs = src.get(msg.id, msg.context)
            if theirs is not None and theirs.string and not theirs.fuzzy:
                msg.string = theirs.string
                filled += 1
                break
    with PO.open("wb") as fh:
        write_po(fh, cat, sort_output=True, omit_header=False, include_previous=False, width=120)
    run("compile", "-d", str(TR), "-l", "zh")
    missing = [m.id for m in cat if m.id and not m.string]
    print(f"filled {filled} translations from {len(sources)} other catalogue(s); {len(missing)} still untranslated")
    for m in missing[:40]:
        print("  untranslated:", m if isinstance(m, str) else m[0])


if __name__ == "__main__":
    main(sys.argv[1:])
