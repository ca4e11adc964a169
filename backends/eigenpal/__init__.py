"""Proxy mode: runs, reviews, expected files and examples read and written through a remote
EigenPal-compatible API (docs/api-feedback.md, docs/proxy.md). Loupe stores none of them; it keeps its users,
the sampling-rate history (on local Automation rows mirroring the upstream automations) and an
audit of who did what through it (review.AuditEvent rows keyed by the upstream run id).

Upstream calls per page (a call is one HTTP request; retries count as calls):
- queue: the automation list (cached LOUPE_PROXY_AUTOMATIONS_TTL seconds per process, so
  usually 0, else 1), then run-list pages of up to 100 runs: 1 when nothing is filtered locally,
  else at most LOUPE_PROXY_SCAN_PAGES, stopping as soon as a screen plus one row matched.
  Chips of the shown rows come from at most 6 `ids=` lookups for the whole screen ("All"), none
  when the chip filter is exact (Open, Ignored), and at most 2 (Passed) or 5 (Failed) per scanned
  page; Unreviewed also lists the runs whose feedback is only a note (1 call per page, plus at
  most 3 lookups when there are some). Never a call per row.
- review pane: 1 (the run with its feedback, expected output and file list) plus at most
  PREVIEW_BUDGET text previews of its files; prev/next are resolved on click.
- a save: the run (1), the write (1), and for htmx the re-rendered pane (1).
- datasets: the index 1 count call per automation (at most DATASET_COUNTS); a dataset page 1;
  an example 2 (the example, its input files); edit, delete, export and import 1 each.
"""
import threading
import time

import httpx
from django.conf import settings
from django.core.cache import cache
from django.dispatch import Signal

from backends.base import (
    Backend,
    BackendError,
    FileInfo,
    ReviewInfo,
    RunInfo,
)
from backends.eigenpal.client import Upstream
from backends.eigenpal.datasets import DatasetsMixin
from backends.eigenpal.dialects import DIALECTS, FeedbackDialect, detect, verify
from backends.eigenpal.health import HealthMixin
from backends.eigenpal.queue import QueueMixin
from backends.eigenpal.reviews import ReviewsMixin
from backends.eigenpal.steps import UPSTREAM_STEPS, StepsMixin
from backends.eigenpal.wire import BATCH, PREVIEW_BUDGET, _Scope, parse_time, review_version
from review.models import AuditEvent
from runs.chips import Chip
from runs.models import KIND_PREFIX, Automation
from runs.services import automation_ensure, output_preview

# Platform webhooks (api/webhooks.py, docs/webhooks.md#inbound-platform-webhooks-proxy-mode): the time
# the upstream last said a run was created or changed, in the shared cache so every process sees it.
UPSTREAM_CHANGED_KEY = "loupe-proxy-upstream-changed"
# Sent in the process that took the webhook, with event_type, run_id, automation_id, status and
# previous_status, for anything else that keeps upstream state (receivers must be quick).
upstream_run_changed = Signal()


def upstream_changed(**event) -> None:
    """The upstream told us (a signed platform webhook) that a run was created or changed state:
    every process drops its cached automation list before its next page, so a new automation's
    runs and runs now waiting for a person show at once rather than after the cache's TTL."""
    cache.set(UPSTREAM_CHANGED_KEY, time.time(), timeout=None)
    upstream_run_changed.send(sender=EigenpalBackend, **event)


def _last_editor(run_id: str) -> str | None:
    """Who changed the review last through Loupe (its audit trail), if anyone did."""
    last = AuditEvent.objects.filter(run_id=run_id).select_related("user").order_by("-created_at", "-id").first()
    return last.user.get_username() if last and last.user else None


def _still_fresh(cached: tuple) -> bool:
    """The cached automation list (read at, items, fetched at) is within its TTL and no inbound
    webhook announced an upstream change since it was fetched."""
    if time.monotonic() - cached[0] >= settings.LOUPE_PROXY_AUTOMATIONS_TTL:
        return False
    changed = cache.get(UPSTREAM_CHANGED_KEY) if settings.LOUPE_INBOUND_WEBHOOK_SECRET else None
    return changed is None or changed < cached[2]


class EigenpalBackend(QueueMixin, ReviewsMixin, DatasetsMixin, HealthMixin, StepsMixin, Backend):
    name = "eigenpal"
    has_chip_counts = False
    preview_budget = PREVIEW_BUDGET

    def __init__(self, *, transport: httpx.BaseTransport | None = None, sleep=None):
        s = settings
        self._upstream = Upstream(
            base_url=s.EIGENPAL_BASE_URL, api_key=s.EIGENPAL_API_KEY,
            timeout=httpx.Timeout(connect=s.EIGENPAL_CONNECT_TIMEOUT, read=s.EIGENPAL_READ_TIMEOUT,
                                  write=s.EIGENPAL_WRITE_TIMEOUT, pool=s.EIGENPAL_POOL_TIMEOUT),
            max_retries=s.EIGENPAL_MAX_RETRIES, backoff=s.EIGENPAL_RETRY_BACKOFF,
            retry_after_max=s.EIGENPAL_RETRY_AFTER_MAX, max_connections=s.EIGENPAL_MAX_CONNECTIONS,
            max_response_bytes=int(s.EIGENPAL_MAX_RESPONSE_MB * 1_048_576), read_deadline=s.EIGENPAL_READ_DEADLINE,
            max_download_bytes=int(s.EIGENPAL_MAX_DOWNLOAD_MB * 1_048_576),
            download_deadline=s.EIGENPAL_DOWNLOAD_DEADLINE,
            transport=transport, **({"sleep": sleep} if sleep else {}))
        self._lock = threading.Lock()
        self._automations_cache: tuple[float, list[dict], float] | None = None
        self._dialect: FeedbackDialect | None = None

    def close(self) -> None:
        self._upstream.close()

    def human_review_tasks(self):
        """The Waiting inbox's tasks over the upstream's /v1/human-reviews (backends/tasks.py)."""
        from backends.eigenpal.human_reviews import EigenpalTasks

        return EigenpalTasks(self)

    def dialect(self) -> FeedbackDialect:
        """The generation the upstream speaks: EIGENPAL_API_GENERATION checked, or `auto` detected,
        once per process (backends.eigenpal.dialects); until that succeeds nothing else is asked."""
        if self._dialect is None:
            with self._lock:
                if self._dialect is None:
                    chosen = DIALECTS.get(settings.EIGENPAL_API_GENERATION)
                    found = verify(self._upstream, chosen) if chosen else detect(self._upstream)
                    self._upstream.prefix = found.prefix
                    self._dialect = found
        return self._dialect

    @property
    def filters_promoted(self) -> bool:
        """The reviews generation's run list has no promotion filter (the queue says so)."""
        return self.dialect().name == "feedback"

    @property
    def upstream(self) -> Upstream:
        self.dialect()
        return self._upstream

    # -- automations: upstream list, mirrored locally ------------------------------------------

    def _upstream_automations(self) -> list[dict]:
        cached = self._automations_cache
        if cached and _still_fresh(cached):
            return cached[1]
        items, offset, fetched_at = [], 0, time.time()
        for _ in range(20):  # 2,000 automations at most
            data = self.upstream.json("GET", "/automations", params={"limit": BATCH, "offset": offset}) or {}
            page = data.get("data") or []
            items.extend(page)
            offset += len(page)
            if not page or offset >= (data.get("total") or 0):
                break
        with self._lock:
            self._automations_cache = (time.monotonic(), items, fetched_at)
        return items

    def automations(self) -> list[Automation]:
        """Local mirror rows of the upstream automations, created on first sight with the default
        rate (their sampling history lives here), in one query when none is new."""
        local = {(a.kind, a.slug): a for a in Automation.objects.all()}
        mirrored = []
        for item in self._upstream_automations():
            kind, slug, remote_id = item.get("type"), item.get("slug"), str(item.get("id") or "")
            if kind not in KIND_PREFIX or not slug:
                continue
            automation = local.get((kind, slug)) or automation_ensure(kind=kind, slug=slug,
                                                                      name=item.get("name") or "")
            if automation.remote_id != remote_id:
                Automation.objects.filter(pk=automation.pk).update(remote_id=remote_id)
                automation.remote_id = remote_id
            mirrored.append(automation)
        return sorted(mirrored, key=lambda a: (a.kind, a.slug))

    def _scope(self, automations: list[Automation] | None = None) -> _Scope:
        return _Scope(automations if automations is not None else self.automations())

    # -- runs ----------------------------------------------------------------------------------

    def _run_info(self, item: dict, scope: _Scope) -> RunInfo:
        timing = item.get("timing") or {}
        created = parse_time(timing.get("createdAt"))
        if created is None:
            raise BackendError(f"The EigenPal API sent run {item.get('id')!r} without timing.createdAt.")
        automation = scope.automation(item)
        bucket = self.dialect().sample_bucket(item)
        source, execution = item.get("source") or {}, item.get("execution") or {}
        return RunInfo(
            id=item["id"], automation=automation,
            status=execution.get("status") or ("completed" if item.get("finished") else "running"),
            created_at=created, sampled=bucket < scope.schedule(automation).rate_at(created), sample_bucket=bucket,
            output_preview=output_preview(None, item.get("error")), completed_at=parse_time(timing.get("completedAt")),
            duration_ms=timing.get("durationMs"), version=source.get("version"),
            trigger=(item.get("trigger") or {}).get("type"), example_id=(item.get("eval") or {}).get("exampleId"),
            error=item.get("error"), chip=self.dialect().row_chip(item),
        )

    def run(self, run_id: str) -> RunInfo:
        data, feedback, expected, names = self.dialect().run_detail(self.upstream, run_id)
        info = self._run_info(data, self._scope())
        info.detail = True
        info.output = data.get("output")
        run_input = data.get("input") or {}
        info.input = run_input.get("args")
        files = [FileInfo(key=f["path"], name=f.get("name") or f["path"], role=f.get("role") or "output",
                          size=f.get("size"), content_type=f.get("contentType") or "")
                 for f in data.get("files") or [] if isinstance(f, dict) and f.get("path")]
        listed = {(f.role, f.name) for f in files}
        for f in run_input.get("files") or []:  # input files the artifact list leaves out
            if isinstance(f, dict) and f.get("name") and ("input", f["name"]) not in listed:
                files.append(FileInfo(key=f"input/{f['name']}", name=f["name"], role="input"))
        info.files = files
        info.review = self._review_info(run_id, feedback, expected, names)
        info.chip = info.review.chip if info.review else Chip.UNREVIEWED
        steps = (data.get("execution") or {}).get("steps")
        if isinstance(steps, list):  # a workflow run's steps come with it (backends/eigenpal/steps.py)
            setattr(info, UPSTREAM_STEPS, steps)
        return info

    def _review_info(self, run_id: str, feedback: dict | None, expected, names: list[str]) -> ReviewInfo | None:
        if feedback is None and expected is None and not names:
            return None
        feedback = feedback or {}
        return ReviewInfo(
            rating=feedback.get("rating"), status=feedback.get("status"), body=feedback.get("body") or "",
            expected=expected, version=review_version(feedback or None, expected, names),
            expected_files=[FileInfo(key=name, name=name, role="expected") for name in names],
            promoted_example_name=self._promoted_name(run_id, feedback), wire=feedback.get("wire"),
            updated_at=parse_time(feedback.get("updatedAt")),
            updated_by=_last_editor(run_id) or feedback.get("createdByEmail") or "",
        )

    def _promoted_name(self, run_id: str, feedback: dict) -> str | None:
        """The feedback generation names the example; the reviews generation (`wire`) does not,
        so it is the one promoted from Loupe."""
        return feedback.get("promotedExampleName") if "wire" not in feedback else self._promoted_here(run_id)

    @staticmethod
    def _promoted_here(run_id: str) -> str | None:
        """The reviews generation's review does not name the example a run was promoted to, so
        the pane shows the last promotion made through this Loupe (its audit trail)."""
        changes = (AuditEvent.objects.filter(run_id=run_id, action="promote").order_by("-created_at", "-id")
                   .values_list("changes", flat=True).first()) or {}
        names = changes.get("promoted_example_name") if isinstance(changes, dict) else None
        return names[-1] if isinstance(names, list) and names else None

    # -- the queue -----------------------------------------------------------------------------
