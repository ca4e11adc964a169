"""Dead-code guard rail (docs/architecture.md#guard-rails): vulture over the project's packages.

Vulture reads Python only, so the names the templates and the tests use (`{{ run.duration_seconds }}`,
`{% for page in pane.pages %}`) are harvested from templates/ first and passed as used; Django's
own hooks (settings, admin options, app configs, commands, model choices read by the ORM) are
ignored by name; what is left and still wanted stands in bin/vulture_whitelist.py with a comment.
Exit status 1 when vulture finds anything."""

import ast
import keyword
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [p.name for p in sorted(ROOT.iterdir())
            if (p / "__init__.py").exists() and p.name not in {"tests"}]
TEMPLATE_TAG = re.compile(r"{[{%](.*?)[%}]}", re.S)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Names Django (or a library) calls or reads by convention, never from our code.
DJANGO_NAMES = [
    "Meta", "Command", "handle", "add_arguments", "help", "urlpatterns", "app_name", "*Config", "*Admin",
    "list_display", "list_filter", "list_select_related", "search_fields", "readonly_fields", "raw_id_fields",
    "inlines", "ordering", "date_hierarchy", "show_full_result_count", "can_delete", "has_*_permission",
    "verbose_name*", "default_auto_field", "ready", "get_queryset", "clean_*", "to_url", "to_python", "regex",
    "application", "handler404", "handler500", "get_user", "authenticate", "app_configs", "widget",
    "prepare_value", "field_order", "db_table", "indexes", "constraints", "template_name", "abstract",
]


def template_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "templates").rglob("*.html"):
        for tag in TEMPLATE_TAG.findall(path.read_text(encoding="utf-8")):
            names.update(NAME.findall(tag))
    return names


DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def settings_names() -> set[str]:
    """The settings modules' top-level names (Django reads them by name) and the last part of
    every dotted path they name as a string (backends, middleware, filters, callables)."""
    names: set[str] = set()
    for path in (ROOT / "config").glob("settings*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value):
                names.add(node.value.rsplit(".", 1)[1].split(":")[0])
    return names


def test_names() -> set[str]:
    """Names the tests use: code kept for a test (a coverage computation, a service the pages
    reach another way) is not dead; the tests themselves are not checked."""
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add(node.name.rsplit(".", 1)[-1])
    return names


def main() -> int:
    with tempfile.NamedTemporaryFile("w", suffix="_templates.py", delete=False) as used:
        used.write("# names the templates use and the settings (harvested by bin/deadcode.py)\n")
        names = template_names() | settings_names() | test_names()
        used.writelines(f"_.{name}\n" for name in sorted(names) if not keyword.iskeyword(name))
    command = [sys.executable, "-m", "vulture", *PACKAGES, str(ROOT / "bin" / "vulture_whitelist.py"), used.name,
               "--exclude", "*/migrations/*", "--min-confidence", "60",
               "--ignore-names", ",".join(DJANGO_NAMES), "--ignore-decorators", "@register,@*.register,@receiver"]
    done = subprocess.run(command, cwd=ROOT)
    Path(used.name).unlink()
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
