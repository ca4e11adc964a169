"""The one rule of docs/architecture.md, checked over the import graph of the code.

Layers, bottom to top; a module imports only its own package or a lower layer, never upward
and never sideways between the packages of one layer, not even inside a function. And no
import cycle between modules. Every import statement counts: top level, inside functions,
under `if TYPE_CHECKING:`.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYERS: list[tuple[str, ...]] = [
    ("accounts",),
    ("events",),
    ("runs",),
    ("review",),
    ("humanreview",),
    ("datasets",),
    ("insights",),
    ("backends",),
    ("api", "web", "demo", "bench"),
    ("config",),
]
LAYER_OF = {package: number for number, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(root: Path = ROOT) -> dict[str, tuple[str, bool]]:
    """{module: (source, is_package)} for every module of the layered packages."""
    found = {}
    for package in LAYER_OF:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(path, root)] = (path.read_text(encoding="utf-8"), path.name == "__init__.py")
    return found


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> set[tuple[str, int]]:
    """(imported module, line) for every import statement, resolved to the longest known module
    (`from runs.models import Run` -> runs.models; `from web import queue` -> web.queue)."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            target = name
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add((target, node.lineno))
            elif not target and name.split(".")[0] in LAYER_OF:
                # A module of a layered package that does not exist: report it under its name.
                found.add((name, node.lineno))
    return found


def import_graph(modules: dict[str, tuple[str, bool]]) -> dict[str, set[tuple[str, int]]]:
    known = set(modules)
    return {name: imports_of(name, source, is_package, known) for name, (source, is_package) in modules.items()}


def upward_imports(graph: dict[str, set[tuple[str, int]]]) -> list[str]:
    """Imports of another package in the same or a higher layer."""
    problems = []
    for module, targets in sorted(graph.items()):
        own = module.split(".")[0]
        for target, line in sorted(targets):
            other = target.split(".")[0]
            if other == own or other not in LAYER_OF:
                continue
            if LAYER_OF[other] >= LAYER_OF[own]:
                direction = "sideways" if LAYER_OF[other] == LAYER_OF[own] else "upward"
                problems.append(f"{module} (line {line}) imports {target}: {direction}, {own} -> {other}")
    return problems


def cycles(graph: dict[str, set[tuple[str, int]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {module: sorted({t for t, _ in targets if t in graph}) for module, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


# --- the rule, over the code -----------------------------------------------------------------


@pytest.fixture(scope="module")
def graph():
    return import_graph(sources())


def test_every_layered_package_exists_and_is_read(graph):
    assert {module.split(".")[0] for module in graph} == set(LAYER_OF)
    # The loop has one home, and the three places that record runs go through it.
    for caller in ("api.ingest", "datasets.management.commands.import_runs", "demo.load"):
        assert "datasets.loop" in {target for target, _ in graph[caller]}, caller


def test_no_upward_or_sideways_import(graph):
    assert upward_imports(graph) == []


def test_no_import_cycle(graph):
    assert cycles(graph) == []


def test_runs_never_imports_review_and_counters_import_only_models(graph):
    assert not [t for m, ts in graph.items() if m.startswith("runs") for t, _ in ts if t.startswith("review")]
    assert {t for t, _ in graph["runs.counters"]} == {"runs.models"}


# --- the checker itself catches what it should (so a green run means something) ---------------


def _fake(modules: dict[str, str]) -> dict[str, set[tuple[str, int]]]:
    return import_graph({name: (source, name in {"runs", "review", "web"}) for name, source in modules.items()})


def test_checker_reports_an_upward_import_even_inside_a_function():
    graph = _fake({
        "runs": "",
        "runs.models": "def f():\n    from review.models import Review\n",
        "review": "",
        "review.models": "from runs.models import Run\n",
    })
    assert upward_imports(graph) == ["runs.models (line 2) imports review.models: upward, runs -> review"]


def test_checker_reports_a_sideways_import_between_top_packages():
    graph = _fake({"web": "", "web.queue": "import api.runs\n", "api.runs": "import web.queue\n"})
    problems = upward_imports(graph)
    assert "web.queue (line 1) imports api.runs: sideways, web -> api" in problems
    assert "api.runs (line 1) imports web.queue: sideways, api -> web" in problems


def test_checker_reports_a_cycle_inside_one_package_and_resolves_relative_imports():
    graph = _fake({
        "review": "",
        "review.a": "from review import b\n",
        "review.b": "from .c import thing\n",
        "review.c": "if False:\n    from review.a import x\n",
        "review.d": "from review.a import y\n",
    })
    assert cycles(graph) == [["review.a", "review.b", "review.c"]]
    assert upward_imports(graph) == []
