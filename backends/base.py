"""The one interface the review and dataset pages depend on, its value objects and its errors.

Two implementations: `backends.local.LocalBackend` (Loupe's own database, the default) and
`backends.eigenpal.EigenpalBackend` (a remote EigenPal-compatible API over httpx). Views get
the configured one from `backends.get_backend()` and never import either.

Automations are local model instances in both modes: in proxy mode they are mirror rows of the
upstream automations, which carry the sampling-rate history (docs/rules.md#proxy-mode). Runs, reviews, files
and examples are plain value objects built by the backend.
"""

from typing import Any

from backends.errors import (
    BackendError,
    ChangeRefused,
    Misconfigured,
    NotFound,
    ReviewConflict,
    StorageFull,
    Unavailable,
)
from backends.values import (
    MAX_SCORES,
    ExampleInfo,
    ExamplePage,
    FileDownload,
    FileInfo,
    HealthDay,
    PromoteResult,
    QueuePage,
    QueueQuery,
    ReviewHealth,
    ReviewInfo,
    RunInfo,
    ScoreInfo,
    StepInfo,
)
from runs.models import Automation

# The errors (backends/errors.py) and value objects (backends/values.py) are imported from here
# by the pages and both backends, as before they had modules of their own.
__all__ = ["MAX_SCORES", "Backend", "BackendError", "ChangeRefused", "ExampleInfo", "ExamplePage", "FileDownload",
           "FileInfo", "HealthDay", "Misconfigured", "NotFound", "PromoteResult", "QueuePage", "QueueQuery",
           "ReviewConflict", "ReviewHealth", "ReviewInfo", "RunInfo", "ScoreInfo", "StepInfo", "StorageFull",
           "Unavailable"]


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
        """Attach a file as expected under `name`; a file already so named is kept and the new
        one gets a free name (`name-2.ext`, runs.files.free_name), never a silent overwrite
        (docs/security.md). Returns the name it was stored under."""
        raise NotImplementedError

    def expected_file_copy(self, *, run: RunInfo, output_name: str, expected_name: str | None, user) -> str:
        """Copy an output file to expected, naming it as expected_file_upload does."""
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
