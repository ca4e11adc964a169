"""The one rule of docs/architecture.md, checked over the import graph of the code.

Layers, bottom to top; a module imports only its own package or a lower layer, never upward
and never sideways between the packages of one layer, not even inside a function. And no
import cycle between modules. Every import statement counts: top level, inside functions,
under `if TYPE_CHECKING:`; and so do the dependencies named in strings: `include("…")`,
`import_string("…")`, `import_module("…")`, `apps.get_model("…")`, and model relations
(`ForeignKey("app.Model")` in the source, every field's `related_model` at run time).

One upward link is allowed, written down in docs/architecture.md: a review points at the
dataset example it was promoted to (`Review.promoted_example`, review -> datasets).
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
    ("dsreview",),
    ("insights",),
    ("backends",),
    ("api", "web", "demo", "bench"),
    ("config",),
    ("loupe",),
]
LAYER_OF = {package: number for number, packages in enumerate(LAYERS) for package in packages}
# (module, the module it depends on): the one allowed upward link (docs/architecture.md). A
# review keeps the example it was promoted to as a foreign key, so "promoted" is one join on
# the queue; moving the link down would mean a table of its own for one nullable column.
# The migrations that create the column name it too.
ALLOWED_UPWARD = {("review.models", "datasets.models"), ("review.migrations", "datasets.models")}
STRING_IMPORTS = {"include", "import_string", "import_module"}
RELATIONS = {"ForeignKey", "OneToOneField", "ManyToManyField"}


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


def _string(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def string_dependencies(call: ast.Call) -> list[str]:
    """The modules a call names in strings: `include("web.urls")` -> web.urls;
    `import_string("backends.local.LocalBackend")` -> that path (resolved like an import);
    `apps.get_model("datasets", "Example")` or `ForeignKey("datasets.Example")` -> datasets.models."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    args = [_string(a) for a in call.args]
    if name in STRING_IMPORTS and args and args[0]:
        return [args[0]]
    if name == "get_model" and args and args[0]:
        label = args[0].partition(".")[0] if len(args) == 1 else args[0]
        return [f"{label}.models"]
    if name in RELATIONS:
        target = args[0] if args else next((_string(k.value) for k in call.keywords if k.arg == "to"), None)
        if target and "." in target:
            return [f"{target.partition('.')[0]}.models"]
    return []


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> set[tuple[str, int]]:
    """(imported module, line) for every import statement and string dependency, resolved to the
    longest known module (`from runs.models import Run` -> runs.models; `from web import queue`
    -> web.queue)."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Call):
            names = string_dependencies(node)
        elif isinstance(node, ast.Import):
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


def _allowed(module: str, target: str) -> bool:
    return any(target == t and (module == m or module.startswith(m + ".")) for m, t in ALLOWED_UPWARD)


def upward_imports(graph: dict[str, set[tuple[str, int]]]) -> list[str]:
    """Imports of another package in the same or a higher layer."""
    problems = []
    for module, targets in sorted(graph.items()):
        own = module.split(".")[0]
        for target, line in sorted(targets):
            other = target.split(".")[0]
            if other == own or other not in LAYER_OF:
                continue
            if LAYER_OF[other] >= LAYER_OF[own] and not _allowed(module, target):
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


def test_model_relations_point_down_except_the_one_written_down():
    """Every relation field's `related_model`, as Django sees it (forward fields, not the reverse
    accessors Django adds): the related model's package is the model's own or lower, but for the
    one allowed exception."""
    from django.apps import apps

    upward = set()
    for model in apps.get_models():
        own = model.__module__.split(".")[0]
        for field in model._meta.get_fields():
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            other = field.related_model.__module__.split(".")[0]
            if own in LAYER_OF and other in LAYER_OF and LAYER_OF[other] > LAYER_OF[own]:
                upward.add((model.__module__, field.related_model.__module__, f"{model.__name__}.{field.name}"))
    assert upward == {("review.models", "datasets.models", "Review.promoted_example")}
    assert all(_allowed(m, t) for m, t, _ in upward)


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


def test_checker_sees_dependencies_named_in_strings():
    graph = _fake({
        "runs": "",
        "runs.models": ('from django.db import models\n'
                        'class Run(models.Model):\n    review = models.ForeignKey("review.Review", models.CASCADE)\n'),
        "runs.urls": 'from django.urls import include\nurlpatterns = [include("web.urls")]\n',
        "runs.load": ("from django.utils.module_loading import import_string\nimport importlib\n"
                      "from django.apps import apps\n"
                      "a = import_string('review.models.Review')\nb = importlib.import_module('web')\n"
                      "c = apps.get_model('review', 'Review')\nd = apps.get_model('web.Page')\n"),
        "review": "",
        "review.models": "",
        "web": "",
        "web.urls": "",
    })
    assert upward_imports(graph) == [
        "runs.load (line 4) imports review.models: upward, runs -> review",
        "runs.load (line 6) imports review.models: upward, runs -> review",
        "runs.load (line 5) imports web: upward, runs -> web",
        "runs.load (line 7) imports web: upward, runs -> web",  # web.models does not exist: its package
        "runs.models (line 3) imports review.models: upward, runs -> review",
        "runs.urls (line 2) imports web.urls: upward, runs -> web",
    ]


def test_checker_allows_only_the_written_down_upward_link():
    graph = _fake({"review": "", "review.models": "from datasets.models import Example\n",
                   "review.services": "from datasets.models import Example\n",
                   "datasets": "", "datasets.models": ""})
    assert upward_imports(graph) == ["review.services (line 1) imports datasets.models: upward, review -> datasets"]


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
