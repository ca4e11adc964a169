"""Compare the runs of a dataset example: the original run's output, the expected output, and
every later run of the example, grouped by version, each checked against the example with the
same rules as closing the loop (datasets/checks.py). Pure: the caller fetches the runs (from
Loupe's database or, in proxy mode, the upstream API)."""

from dataclasses import dataclass, field
from datetime import datetime

from datasets.checks import BLOCKED, FAILED, PASSED, CheckResult, check_output

# Runs shown per comparison, newest first; older runs of a busy example are left out.
COMPARE_RUNS = 30
FINISHED = frozenset({"completed", "failed", "cancelled", "rejected"})


@dataclass
class ExampleRun:
    """What a comparison needs of one run of the example."""

    id: str
    version: str | None
    created_at: datetime
    status: str
    output: object = None


@dataclass
class ComparedRun:
    run: ExampleRun
    check: CheckResult | None  # None while the run has not finished

    @property
    def verdict(self) -> str:
        return self.check.verdict if self.check else "running"


@dataclass
class VersionGroup:
    version: str | None
    runs: list[ComparedRun] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.runs)

    @property
    def passed(self) -> int:
        return self.count(PASSED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def newest(self) -> ComparedRun:
        """The version's newest run (runs are kept oldest first): its output is the column shown."""
        return self.runs[-1]

    @property
    def earlier(self) -> list[ComparedRun]:
        """The version's other runs, newest first."""
        return self.runs[-2::-1]

    @property
    def verdict(self) -> str:
        """failed if any finished run failed, passed if every finished run passed, else blocked
        (or running when none has finished)."""
        finished = [r for r in self.runs if r.check]
        if not finished:
            return "running"
        if any(r.verdict == FAILED for r in finished):
            return FAILED
        if all(r.verdict == PASSED for r in finished):
            return PASSED
        return BLOCKED


@dataclass
class Comparison:
    original: object
    expected: object
    groups: list[VersionGroup]

    @property
    def pending(self) -> bool:
        """Some run has not finished: the page polls until it has."""
        return any(r.check is None for g in self.groups for r in g.runs)


def _version_key(version: str | None, first_seen: datetime) -> tuple:
    return (first_seen, version or "")


def example_compare(*, original, expected, assertions, runs: list[ExampleRun]) -> Comparison:
    """Check each run and group them by version, versions in the order they first ran."""
    groups: dict[str | None, VersionGroup] = {}
    first_seen: dict[str | None, datetime] = {}
    for run in sorted(runs, key=lambda r: (r.created_at, r.id)):
        group = groups.setdefault(run.version, VersionGroup(run.version))
        first_seen.setdefault(run.version, run.created_at)
        check = check_output(run.output, expected=expected, assertions=assertions) if run.status in FINISHED else None
        group.runs.append(ComparedRun(run, check))
    ordered = sorted(groups.values(), key=lambda g: _version_key(g.version, first_seen[g.version]))
    return Comparison(original=original, expected=expected, groups=ordered)
