"""The one interface the review and dataset pages depend on, its value objects and its errors.

Two implementations: `backends.local.LocalBackend` (Loupe's own database, the default) and
`backends.eigenpal.EigenpalBackend` (a remote EigenPal-compatible API over httpx). Views get
the configured one from `backends.get_backend()` and never import either.

Automations are local model instances in both modes: in proxy mode they are mirror rows of the
upstream automations, which carry the sampling-rate history (docs/rules.md#proxy-mode). Runs, reviews, files
and examples are plain value objects built by the backend.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from runs.chips import Chip, Rating, ReviewStatus, derive_chip
from runs.models import Automation, RunStatus

# --- errors -----------------------------------------------------------------------------


class BackendError(Exception):
    """Anything the backend could not do, with a message a page can show as it is.

    `status` is the upstream HTTP status where there was one; `field` names the input at fault
    when the backend refused a value; `retry_after` is in seconds (rate limits).
    """

    def __init__(self, message: str, *, status: int | None = None, field: str = "<root>",
                 retry_after: int | None = None, request_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.retry_after = retry_after
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message


class NotFound(BackendError):
    """The run, file, example or automation does not exist (any more)."""


class ChangeRefused(BackendError):
    """The backend refused a change as invalid (a bad name, a missing output file...)."""


class ReviewConflict(ChangeRefused):
    """The review changed since the reviewer loaded it; `current` is the review as it is now."""

    def __init__(self, current: "ReviewInfo"):
        super().__init__(
            "Someone else saved this review since you opened it. Your changes were not saved; "
            "the current version is shown below.", field="version")
        self.current = current


class Unavailable(BackendError):
    """The backend could not be reached or failed (timeouts, refused connections, 5xx, 429)."""


class Misconfigured(BackendError):
    """The backend refused Loupe's credentials (401/403): an operator has to fix a setting."""


# --- value objects -----------------------------------------------------------------------

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
class ReviewInfo:
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
    def chip(self) -> str:
        return derive_chip(self.rating, self.status)

    @property
    def has_verdict(self) -> bool:
        return bool(self.rating or self.status)

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


class Backend:
    """What the pages need from wherever runs live. Every method may raise BackendError."""

    #: Short name shown in the footer and docs: "local" or "eigenpal".
    name = "base"
    #: True when the queue can show a count per chip without scanning runs.
    has_chip_counts = True
    #: How many files of a run the pane reads for previews (None: all).
    preview_budget: int | None = None
    #: True when run_steps can report a run's steps (the pane then loads them after it is shown).
    reports_steps = False

    # -- automations --------------------------------------------------------------------
    def automations(self) -> list[Automation]:
        raise NotImplementedError

    # -- queue --------------------------------------------------------------------------
    def queue_page(self, query: QueueQuery) -> QueuePage:
        raise NotImplementedError

    def chip_counts(self, query: QueueQuery) -> dict[str, int] | None:
        raise NotImplementedError

    def neighbour(self, query: QueueQuery, run: RunInfo, direction: str) -> str | None:
        """The id of the run just newer ("previous") or just older ("next") than `run` in the queue."""
        raise NotImplementedError

    # -- one run ------------------------------------------------------------------------
    def run(self, run_id: str) -> RunInfo:
        """The run with input, output, files and review; NotFound when there is none."""
        raise NotImplementedError

    def run_file(self, run_id: str, key: str) -> FileDownload:
        raise NotImplementedError

    def expected_file(self, run_id: str, key: str) -> FileDownload:
        raise NotImplementedError

    def read_head(self, run: RunInfo, file: FileInfo, limit: int, *, expected: bool = False) -> bytes:
        """The first `limit` bytes of a file (previews); OSError when it cannot be read."""
        raise NotImplementedError

    def run_scores(self, run_id: str) -> list[ScoreInfo]:
        """The evaluator scores of a run, by name (example checks are shown on their own)."""
        raise NotImplementedError

    def audit_trail(self, run_id: str, limit: int = 50) -> list:
        raise NotImplementedError

    def run_steps(self, run: RunInfo) -> list[StepInfo] | None:
        """The run's steps in order; None when this backend does not report steps."""
        return None

    def last_output(self, run: RunInfo) -> Any:
        """The output of the automation's latest completed run with one (the shape a failed run's
        expected output can start from); None when there is none or the backend cannot tell."""
        return None

    # -- reviews --------------------------------------------------------------------------
    def review_update(self, *, run: RunInfo, changes: dict, user, base_version: int | None,
                      action: str) -> "RunInfo | None":
        """Partially update the review (a left-out key is unchanged, None clears). Returns the run
        as saved when the backend has it without another read (the pane renders it), else None."""
        raise NotImplementedError

    def expected_file_upload(self, *, run: RunInfo, upload, name: str | None, user) -> str:
        raise NotImplementedError

    def expected_file_copy(self, *, run: RunInfo, output_name: str, expected_name: str | None, user) -> str:
        raise NotImplementedError

    def expected_file_rename(self, *, run: RunInfo, name: str, new_name: str, user) -> str:
        raise NotImplementedError

    def expected_file_delete(self, *, run: RunInfo, name: str, user) -> str:
        raise NotImplementedError

    def promote(self, *, run: RunInfo, name: str, user, replace_other: bool = True,
                base_version: int | None = None) -> PromoteResult:
        """replace_other=False: refuse (ChangeRefused, field replace_example) a name held by an
        example promoted from another run. base_version: the review version the reviewer saw;
        stale is a ReviewConflict where the backend keeps versions (the local one)."""
        raise NotImplementedError

    # -- datasets -------------------------------------------------------------------------
    def automation(self, ref: str) -> Automation:
        """One automation by `workflows.<slug>` / `agents.<slug>`; NotFound when there is none."""
        found = next((a for a in self.automations() if a.ref == ref), None)
        if found is None:
            raise NotFound(f"No automation {ref}.")
        return found

    def datasets(self) -> list[tuple[Automation, int | None]]:
        """Every automation with its number of examples (None where it is not known)."""
        raise NotImplementedError

    def examples_page(self, automation: Automation, number: int, page_size: int) -> ExamplePage:
        raise NotImplementedError

    def example(self, automation: Automation, example_id: str) -> ExampleInfo:
        raise NotImplementedError

    def example_runs(self, automation: Automation, example: ExampleInfo, limit: int) -> tuple[object, list]:
        """(the original run's output, the example's later runs as datasets.compare.ExampleRun,
        newest first, at most `limit`)."""
        raise NotImplementedError

    def example_rerun(self, *, automation: Automation, example: ExampleInfo, user) -> str:
        """Start a run of the example on the automation's latest version; returns the run id.
        ChangeRefused with a message a page can show where runs are not executed."""
        raise NotImplementedError

    def example_create(self, *, automation: Automation, fields: dict, user) -> str:
        """A new example from name, input, expected, metadata, annotation, assertions; returns its
        id. ChangeRefused names the field at fault (a taken name, assertions upstream)."""
        raise NotImplementedError

    def example_update(self, *, automation: Automation, example: ExampleInfo, changes: dict, user) -> None:
        """Set some of name, expected, metadata, annotation; ChangeRefused names the field at fault."""
        raise NotImplementedError

    def example_delete(self, *, automation: Automation, example: ExampleInfo, user) -> None:
        raise NotImplementedError

    def example_file(self, automation: Automation, example_id: str, key: str) -> FileDownload:
        raise NotImplementedError

    def dataset_export(self, automation: Automation, example_ids: list[str] | None) -> FileDownload:
        raise NotImplementedError

    def dataset_import(self, *, automation: Automation, upload, mode: str, user):
        """Returns datasets.archive.ImportResult; ChangeRefused (field file or mode) for a bad archive."""
        raise NotImplementedError

    def review_health(self, automations: list[Automation]) -> "dict[int, ReviewHealth] | None":
        """The review figures of the sampling and backlog pages when the runs live elsewhere
        (proxy mode, reviews generation), by automation pk; None: count the runs in Loupe."""
        return None

    def close(self) -> None:
        """Release pooled connections (tests, settings changes)."""
