"""The value objects the backends hand the pages (backends/base.py re-exports them): runs,
reviews, files, queue pages and queries, examples, review health. Plain dataclasses, built by the
backend from rows (local) or from the upstream's JSON (proxy mode)."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from runs.chips import Chip, Rating, ReviewChip, ReviewStatus
from runs.models import Automation, RunStatus

_STATUS_LABELS = dict(RunStatus.choices)
_CHIP_LABELS = dict(Chip.choices)
_RATING_LABELS = dict(Rating.choices)
_REVIEW_STATUS_LABELS = dict(ReviewStatus.choices)


@dataclass
class FileInfo:
    """A run file, an expected file or an example file. `key` identifies it in download URLs
    (a row id locally, a path upstream); `handle` is the backend's own (a stored FieldFile)."""

    key: str
    name: str
    role: str = "output"
    size: int | None = None
    content_type: str = ""
    handle: Any = field(default=None, repr=False, compare=False)


@dataclass
class FileDownload:
    """A file's bytes as a stream of chunks, for FileResponse/StreamingHttpResponse."""

    chunks: Iterator[bytes]
    filename: str
    content_type: str = ""
    size: int | None = None


@dataclass
class HealthDay:
    day: date
    total_runs: int = 0
    reviewed_runs: int = 0  # with a verdict (correct + incorrect)
    correct: int = 0
    nits: int = 0  # reviews without a verdict


@dataclass
class ReviewHealth:
    """One automation's review health as the upstream counts it (GET
    /v1/automations/{id}/reviews/health): runs created in the window and their reviews."""

    total_runs: int = 0
    reviewed_runs: int = 0
    correct: int = 0
    incorrect: int = 0
    nits: int = 0
    coverage: float | None = None
    low: float | None = None  # Wilson 95 % interval of correct / reviewed
    high: float | None = None
    days: list[HealthDay] = field(default_factory=list)

    def runs_since(self, first: date) -> int:
        return sum(d.total_runs for d in self.days if d.day >= first)


# Scores shown per run (ingest bounds what a run may carry; this bounds what an upstream sends).
MAX_SCORES = 50


@dataclass
class ScoreInfo:
    """A score an automated evaluator gave a run (Loupe: recorded at ingest; upstream: GET
    {prefix}/runs/{id}/scores). `passed` is None when the evaluator's verdict cannot be told."""

    name: str
    value: float | None = None
    passed: bool | None = None
    source: str = ""


@dataclass
class ReviewInfo(ReviewChip):
    """A run's review (the API's feedback). `version` changes with every saved change; a save
    based on another version is refused with ReviewConflict."""

    rating: str | None = None
    status: str | None = None
    body: str = ""
    expected: Any = None
    version: int = 0
    expected_files: list[FileInfo] = field(default_factory=list)
    promoted_example_name: str | None = None
    promoted_example_id: str | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    # The review as the upstream sent it (proxy mode, reviews generation): what a whole-review
    # write must send back unchanged.
    wire: dict | None = None
    # The latest check of a later run of the promoted example (local only: datasets.ExampleCheck).
    example_check: Any = None

    @property
    def has_expected(self) -> bool:
        return self.expected is not None or bool(self.expected_files)

    @property
    def rating_label(self) -> str:
        return _RATING_LABELS.get(self.rating, self.rating or "")

    @property
    def status_label(self) -> str:
        return _REVIEW_STATUS_LABELS.get(self.status, self.status or "")


@dataclass
class RunInfo:
    """One run as the pages show it. Queue rows fill the light fields; the review pane also
    gets input, output, files and the review (`detail=True`)."""

    id: str
    automation: Automation
    status: str
    created_at: datetime
    sampled: bool
    sample_bucket: int
    chip: str | None = None  # None: not known for this row (never in local mode)
    # Why the run was sampled (runs/strata.py): its stratum ("" the default rate) and the rate it
    # was sampled at in basis points (0: not recorded, runs from before strata; proxy mode).
    stratum: str = ""
    inclusion_bp: int = 0
    # Double review (docs/rules.md#double-review): "wanted" while the run waits for its blind
    # second review (the pane then hides the first); "" otherwise and always in proxy mode.
    double_review: str = ""
    output_preview: str = ""
    completed_at: datetime | None = None
    duration_ms: int | None = None
    version: str | None = None
    trigger: str | None = None
    example_id: str | None = None
    error: str | None = None
    detail: bool = False
    input: Any = None
    output: Any = None
    files: list[FileInfo] = field(default_factory=list)
    review: ReviewInfo | None = None

    @property
    def pk(self) -> str:
        return self.id

    @property
    def status_label(self) -> str:
        return _STATUS_LABELS.get(self.status, self.status)

    @property
    def chip_label(self) -> str:
        return _CHIP_LABELS.get(self.chip, "") if self.chip else ""

    @property
    def duration_seconds(self) -> float | None:
        return None if self.duration_ms is None else self.duration_ms / 1000

    @property
    def input_files(self) -> list[FileInfo]:
        return [f for f in self.files if f.role == "input"]

    @property
    def output_files(self) -> list[FileInfo]:
        return [f for f in self.files if f.role != "input"]


@dataclass
class StepInfo:
    """One step of a run (the pane's timeline): what it got, what it gave, whether it failed."""

    position: int
    name: str
    type: str = ""
    status: str = "completed"
    started_at: datetime | None = None
    completed_at: datetime | None = None
    input: Any = None
    output: Any = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed" or bool(self.error)

    @property
    def duration_ms(self) -> int | None:
        if self.started_at and self.completed_at:
            return max(0, int((self.completed_at - self.started_at).total_seconds() * 1000))
        return None


@dataclass(frozen=True)
class QueueQuery:
    """The queue's validated filters, as the list object (web.queue_list.RunQueue) hands them
    to the backend. `before`/`after` are keyset positions: (created_at, run id)."""

    automation: Automation | None = None
    unknown_automation: bool = False
    sampled_only: bool = True
    chip: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    expected: str = ""  # "", "yes", "no"
    promoted: str = ""
    # "evaluator_passed_human_failed" / "evaluator_failed_human_passed": an evaluator score
    # recorded with the run disagrees with the reviewer's pass / fail (local runs only).
    disagreement: str = ""
    run_id: str = ""
    before: tuple[datetime, str] | None = None
    after: tuple[datetime, str] | None = None
    page_size: int = 50
    # The automations the list object already fetched (empty: not fetched), for reuse.
    automations: tuple[Automation, ...] = ()


@dataclass
class QueuePage:
    """One screen of the queue. `older`/`newer` are the keyset positions the pager links to
    (None: no such page); `notice` tells the reviewer about a partial screen."""

    rows: list[RunInfo]
    older: tuple[datetime, str] | None = None
    newer: tuple[datetime, str] | None = None
    newest: bool = False  # the newer link is "back to the newest page"
    notice: str = ""
    # run id -> who holds it (review.claims), when the backend read the claims with the page;
    # None: the queue looks them up itself.
    holders: dict[str, str] | None = None


@dataclass
class PromoteResult:
    example_id: str
    name: str
    run: "RunInfo | None" = None  # the run as promoted, when the backend has it without another read


@dataclass
class ExampleInfo:
    """A dataset example. List rows fill the light fields; the example page also gets the JSON
    and the files (`role` is the folder: input or expected)."""

    id: str
    name: str
    annotation: str | None = None
    has_expected: bool = False
    n_files: int = 0
    source_run_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    row_order: int | None = None
    promoted_by: str = ""
    input: Any = None
    expected: Any = None
    output: Any = None  # the run's output when promoted (local only), for the correction diff
    metadata: Any = None
    files: list[FileInfo] = field(default_factory=list)
    # Loupe's own regression checks (datasets.checks): local only; the API has neither.
    assertions: list = field(default_factory=list)
    checks: list = field(default_factory=list)

    @property
    def pk(self) -> str:
        return self.id

    @property
    def input_files(self) -> list[FileInfo]:
        return [f for f in self.files if f.role == "input"]

    @property
    def expected_files(self) -> list[FileInfo]:
        return [f for f in self.files if f.role == "expected"]


@dataclass
class ExamplePage:
    """One page of a dataset, numbered from 1, with the dataset's total."""

    rows: list[ExampleInfo]
    number: int
    count: int
    page_size: int

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1
