"""Code comments cite only what is in the repository: docs/*.md (with a heading that exists) and
code, never documents kept elsewhere."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"docs/([\w-]+\.md)(?:#([\w-]+))?")
# Spelled so that this file does not match itself (and `git grep` for the same words stays empty).
FOREIGN = re.compile(r"DESIGN \N{SECTION SIGN}|seed 00\d|contract \N{SECTION SIGN}|\.\./shared"
                     r"|eigenpal-api-con[t]ract|eigenpal-api-0\.2[0]")


SUFFIXES = {".py", ".md", ".html", ".toml", ".txt"}
SKIP_DIRS = {"static", "var", "node_modules", "__pycache__"}


def _tracked_text_files() -> list[Path]:
    """The project's own text files (not the virtualenv, vendored static files or data)."""
    found = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if any(part.startswith(".") or part in SKIP_DIRS for part in parts[:-1]):
            continue
        if path.suffix in SUFFIXES and path.is_file():
            found.append(path)
    return found


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return anchors


def test_no_citation_of_documents_outside_the_repository():
    offenders = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                 for path in _tracked_text_files()
                 for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
                 if FOREIGN.search(line)]
    assert offenders == []


def test_every_cited_doc_and_heading_exists():
    docs = {path.name: _anchors(path.read_text(encoding="utf-8")) for path in (ROOT / "docs").glob("*.md")}
    missing = []
    for path in _tracked_text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for name, anchor in CITATION.findall(line):
                if name not in docs or (anchor and anchor not in docs[name]):
                    missing.append(f"{path.relative_to(ROOT)}:{number}: docs/{name}#{anchor}")
    assert missing == []


def test_the_anchor_rule_matches_githubs():
    assert _anchors("## Runs and what is recorded\n### Ids and paths\n# Closing the loop") == {
        "runs-and-what-is-recorded", "ids-and-paths", "closing-the-loop"}
