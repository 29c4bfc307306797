"""The shape of the code (issue 9): one home per concern, checked on the source tree itself.

- ``stations`` never imports Flask or ``webmap``; ``webmap`` may import ``stations``.
- No import cycles among the project's modules, counting imports inside functions too.
- No Python module in ``stations/`` or ``webmap/`` is longer than 700 lines.
- Only ``stations/config.py`` reads the environment.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("stations", "webmap")
MAX_LINES = 700


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path) -> set[str]:
    """Project modules imported anywhere in ``path`` (top level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node, is_package)
            names = [target] + [f"{target}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            # the longest project module that this name is, or lies inside
            parts = name.split(".")
            for k in range(len(parts), 0, -1):
                cand = ".".join(parts[:k])
                if cand in MODULES:
                    if cand != module:
                        found.add(cand)
                    break
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:k]) for k in range(1, len(parts))}


def test_stations_never_imports_flask_or_webmap():
    for module, path in MODULES.items():
        if not module.startswith("stations"):
            continue
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.split(".")[0] in ("flask", "flask_babel", "werkzeug", "webmap"), \
                    f"{module} imports {name}"


def test_no_import_cycles():
    # a package's __init__ importing its own submodules (re-exports) is not a cycle of concerns: drop the
    # edges from a module to the packages that contain it (every submodule implicitly runs its parents)
    graph = {m: {t for t in targets if t not in _parents(m)} for m, targets in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    # a package __init__ that re-exports a submodule which imports a sibling through the package is
    # reported above as pkg -> sub -> pkg: that is a real cycle and stays an error
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles[:10])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_at_most_700_lines(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines (at most {MAX_LINES})"


def test_only_config_reads_the_environment():
    offenders = []
    for module, path in MODULES.items():
        if module == "stations.config":
            continue
        text = path.read_text(encoding="utf-8")
        if "os.environ" in text or "os.getenv" in text:
            offenders.append(module)
    assert not offenders, f"modules reading the environment directly: {offenders}"


def test_readme_configuration_table_matches_the_settings():
    """Every variable of ``stations.config.SETTINGS`` has a row in the README's configuration table, and the
    table names no variable that the settings do not declare."""
    import re

    from stations.config import SETTINGS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration (environment variables)", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.M)
    declared = [s.env for s in SETTINGS]
    assert sorted(rows) == sorted(declared), f"README rows {rows} vs SETTINGS {declared}"
