"""The package's folders state rules; these tests hold the code to them.

- store/ is the only code that speaks SQL (sqlite3, sqlite-utils, SQL text).
- web/ is the only code that imports Flask, werkzeug, Jinja or granian, and
  nothing outside web/ imports it (but the command line, which starts it).
- remote/ is the only code that talks to other hosts or parses their feeds
  (httpx, feedparser, trafilatura).
- Data flows one way, inputs -> store -> feeds: the store imports neither the
  inputs (remote/) nor the web side.
- The store persists, the decision decides: the store may import what it
  indexes (dedup/fingerprint.py, dedup/candidates.py), never dedup/decide.py
  or the ingest side that runs it (ingest/filing.py).
- No import cycle between modules.
- Small enough to enter: the top level lists at most 12 modules beside the
  subpackages (the sides), no module is over 450 lines, no class over 250.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "feedhub"

SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|PRAGMA)\b", re.S)


def modules() -> dict[str, Path]:
    """'store.items' -> its file, for every module of the package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """Every module `name` imports (absolute names; feedhub's own as 'feedhub.x.y')."""
    package = ["feedhub", *name.split(".")]
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from . import x`
    return found


def strings(path: Path) -> list[str]:
    return [node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def outside(folder: str) -> list[tuple[str, Path]]:
    return [(name, path) for name, path in modules().items() if name != folder and not name.startswith(folder + ".")]


def offenders(folder: str, libraries: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(f"{name} imports {module}" for name, path in outside(folder)
                  if not any(name == part or name.startswith(part + ".") for part in allowed)
                  for module in imports(name, path) if module.split(".")[0] in libraries
                  or any(module == lib or module.startswith(lib + ".") for lib in libraries if "." in lib))


def test_the_layout_is_what_the_readme_says():
    names = modules()
    for folder in ("store", "web", "remote"):
        assert any(name.startswith(folder + ".") for name in names), folder


def test_only_the_store_speaks_sql():
    assert offenders("store", ("sqlite3", "sqlite_utils", "psycopg")) == []
    with_sql = sorted(name for name, path in outside("store") if any(SQL.search(text) for text in strings(path)))
    assert with_sql == []


def test_only_the_web_side_imports_flask_and_nothing_else_imports_the_web_side():
    assert offenders("web", ("flask", "werkzeug", "jinja2", "granian", "gunicorn")) == []
    assert offenders("web", ("feedhub.web",), allowed=("cli",)) == []


def test_only_the_remote_side_talks_to_other_hosts():
    assert offenders("remote", ("httpx", "httpcore", "feedparser", "trafilatura", "urllib3", "requests")) == []


def test_the_store_does_not_reach_back_to_inputs_or_feeds():
    reached = sorted(f"{name} imports {module}" for name, path in modules().items() if name.startswith("store")
                     for module in imports(name, path)
                     if module.startswith(("feedhub.remote", "feedhub.web", "feedhub.ingest", "feedhub.publish",
                                           "feedhub.scheduler")))
    assert reached == []


def store_reaches_the_decision(graph: dict[str, set[str]]) -> list[str]:
    """Every import by a store module of dedup.decide, of the ingest side, or
    of the bare dedup package (whose attributes reach the decision once
    anything has imported it); TYPE_CHECKING imports count too."""
    return sorted(f"{name} imports {module}" for name, found in graph.items() if name.split(".")[0] == "store"
                  for module in found if module in ("dedup", "dedup.decide") or module.split(".")[0] == "ingest")


def test_the_store_never_imports_the_decision():
    assert store_reaches_the_decision(module_graph()) == []
    # The rule catches each way of spelling such an import.
    for spelling, reached in [("from ..dedup.decide import decide", "dedup.decide"),
                              ("from ..dedup import decide", "dedup.decide"),
                              ("import feedhub.dedup.decide", "dedup.decide"),
                              ("from .. import dedup", "dedup"),
                              ("from ..ingest.filing import add", "ingest.filing"),
                              ("from ..ingest import filing", "ingest.filing")]:
        graph = module_graph(extra={"store.items": spelling})
        assert store_reaches_the_decision(graph) == [f"store.items imports {reached}"], spelling


def module_graph(extra: dict[str, str] | None = None) -> dict[str, set[str]]:
    """Module -> the package's modules it imports.  `from . import x` imports
    the module x when there is one, else a name of the package itself.
    `extra`: module -> source added to its own (to test the rules)."""
    names = modules()
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found = set()
        source = path.read_text(encoding="utf-8") + "\n" + (extra or {}).get(name, "")
        for node in ast.walk(ast.parse(source)):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(["feedhub", *package[: len(package) - node.level + 1]])
                    module = f"{base}.{node.module}" if node.module else base
                else:
                    module = node.module or ""
                for alias in node.names:
                    targets.append(f"{module}.{alias.name}" if f"{module}.{alias.name}"[8:] in names else module)
            for target in targets:
                if target == "feedhub" or target.startswith("feedhub."):
                    found.add(target[len("feedhub."):] or "__init__")
        graph[name] = {module for module in found if module in names and module != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules():
    assert cycles(module_graph()) == []


MAX_TOP_LEVEL_MODULES = 12
MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 250


def test_the_top_level_lists_the_sides():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    assert {"articles", "remote", "ingest", "dedup", "store", "publish", "web", "config", "cli", "worker"} <= {
        path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}


def test_no_module_or_class_is_too_long_to_read_in_one_sitting():
    too_long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                too_long.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert too_long == []
