"""Proxy mode: runs, reviews, expected files and examples read and written through a remote
EigenPal-compatible API (eigenpal-api-contract.md). Loupe stores none of them; it keeps its users,
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

import hashlib
import json
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.utils.dateparse import parse_datetime

from backends.base import (
    Backend,
    BackendError,
    ChangeRefused,
    ExampleInfo,
    ExamplePage,
    FileDownload,
    FileInfo,
    NotFound,
    PromoteResult,
    QueuePage,
    QueueQuery,
    ReviewConflict,
    ReviewInfo,
    RunInfo,
)
from backends.eigenpal.client import Upstream, file_path, seg
from backends.eigenpal.dialects import DIALECTS, FeedbackDialect, detect, verify
from config.api_support import iso
from datasets.archive import ImportResult
from review.chips import Chip
from review.models import AuditEvent
from review.queries import audit_trail, day_bounds
from runs.files import BadFileName, guess_content_type, safe_relative_path
from runs.models import KIND_PREFIX, Automation, rate_schedules
from runs.sampling import BUCKETS, RateSchedule
from runs.services import automation_ensure, output_preview

BATCH = 100  # the contract's largest page of runs
ONE_MS = timedelta(milliseconds=1)
PREVIEW_BUDGET = 4
DATASET_COUNTS = 50
CHUNK = 64 * 1024
# The chips whose run-list filter the upstream answers exactly (the same in both generations);
# each dialect names the filter a chip starts from (backends.eigenpal.dialects).
EXACT_CHIPS = {Chip.UNREVIEWED, Chip.OPEN, Chip.IGNORED}


def parse_time(value) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and value else None


def review_version(feedback: dict | None, expected, names: list[str]) -> int:
    """The upstream has no review version, so Loupe derives one from what it shows: any saved
    change (by Loupe or anyone else) changes it, and a save based on another one is refused."""
    if feedback is None and expected is None and not names:
        return 0
    raw = json.dumps([feedback, expected, sorted(names)], sort_keys=True, default=str)
    return int(hashlib.sha256(raw.encode()).hexdigest()[:8], 16) or 1


def _run_key(item: dict) -> tuple:
    return (parse_time((item.get("timing") or {}).get("createdAt")) or datetime.min, item["id"])


def _merge(first, second):
    """Two scans (iterators of (runs newest first, last page?)) as one, newest first. Each step
    emits what can be ordered without the next page of a stream, so a step costs at most one
    upstream page per stream."""
    scans, buffers, done = (first, second), ([], []), [False, False]
    while True:
        for i in (0, 1):
            if not buffers[i] and not done[i]:
                runs, done[i] = next(scans[i])
                buffers[i].extend(runs)
        out = []
        while True:
            heads = [buffers[i][0] if buffers[i] else None for i in (0, 1)]
            if heads[0] is not None and heads[1] is not None:
                pick = 0 if _run_key(heads[0]) > _run_key(heads[1]) else 1
            elif heads[0] is not None and done[1]:
                pick = 0
            elif heads[1] is not None and done[0]:
                pick = 1
            else:
                break  # a buffer ran dry before its stream ended: fetch its next page first
            out.append(buffers[pick].pop(0))
        finished = all(done) and not buffers[0] and not buffers[1]
        yield out, finished
        if finished:
            return


class _Scope:
    """The automations of one request: local mirror rows by upstream id, and their rate schedules."""

    def __init__(self, automations: list[Automation]):
        self.automations = automations
        self.by_remote = {a.remote_id: a for a in automations if a.remote_id}
        self.schedules = rate_schedules(automations)

    def automation(self, item: dict) -> Automation:
        source = item.get("source") or {}
        found = self.by_remote.get(str(source.get("id")))
        if found is None:  # not in the upstream automation list: a transient stand-in, default rate
            kind = item.get("type") if item.get("type") in KIND_PREFIX else "workflow"
            found = Automation(kind=kind, slug=str(source.get("slug") or source.get("id") or "unknown"),
                               name=source.get("name") or "", remote_id=str(source.get("id") or ""))
        return found

    def schedule(self, automation: Automation) -> RateSchedule:
        return self.schedules.get(automation.pk) or RateSchedule(initial_bp=automation.sampling_rate_bp)


class EigenpalBackend(Backend):
    name = "eigenpal"
    eager_neighbours = False
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
            transport=transport, **({"sleep": sleep} if sleep else {}))
        self._lock = threading.Lock()
        self._automations_cache: tuple[float, list[dict]] | None = None
        self._dialect: FeedbackDialect | None = None

    def close(self) -> None:
        self._upstream.close()

    def dialect(self) -> FeedbackDialect:
        """The generation the upstream speaks: EIGENPAL_API_GENERATION checked, or `auto` detected,
        once per process (1-3 calls); until that succeeds nothing else is asked upstream."""
        if self._dialect is None:
            with self._lock:
                if self._dialect is None:
                    chosen = DIALECTS.get(settings.EIGENPAL_API_GENERATION)
                    found = verify(self._upstream, chosen) if chosen else detect(self._upstream)
                    self._upstream.prefix = found.prefix
                    self._dialect = found
        return self._dialect

    @property
    def upstream(self) -> Upstream:
        self.dialect()
        return self._upstream

    # -- automations: upstream list, mirrored locally ------------------------------------------

    def _upstream_automations(self) -> list[dict]:
        cached = self._automations_cache
        if cached and time.monotonic() - cached[0] < settings.LOUPE_PROXY_AUTOMATIONS_TTL:
            return cached[1]
        items, offset = [], 0
        for _ in range(20):  # 2,000 automations at most
            data = self.upstream.json("GET", "/automations", params={"limit": BATCH, "offset": offset}) or {}
            page = data.get("data") or []
            items.extend(page)
            offset += len(page)
            if not page or offset >= (data.get("total") or 0):
                break
        with self._lock:
            self._automations_cache = (time.monotonic(), items)
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
        return info

    def _review_info(self, run_id: str, feedback: dict | None, expected, names: list[str]) -> ReviewInfo | None:
        if feedback is None and expected is None and not names:
            return None
        feedback = feedback or {}
        last = AuditEvent.objects.filter(run_id=run_id).select_related("user").order_by("-created_at", "-id").first()
        return ReviewInfo(
            rating=feedback.get("rating"), status=feedback.get("status"), body=feedback.get("body") or "",
            expected=expected, version=review_version(feedback or None, expected, names),
            expected_files=[FileInfo(key=name, name=name, role="expected") for name in names],
            promoted_example_name=feedback.get("promotedExampleName"), wire=feedback.get("wire"),
            updated_at=parse_time(feedback.get("updatedAt")),
            updated_by=(last.user.get_username() if last and last.user else feedback.get("createdByEmail") or ""),
        )

    # -- the queue -----------------------------------------------------------------------------

    def chip_counts(self, query: QueueQuery) -> None:
        return None  # the API has no counts; counting would mean listing every run

    def _filters(self, query: QueueQuery) -> dict:
        """The queue's filters as run-list query parameters (feedback-generation names)."""
        params = {}
        if query.automation is not None:
            params["source"] = query.automation.remote_id or str(query.automation.pk)
        if query.status:
            params["status"] = query.status
        start, end = day_bounds(query.date_from, query.date_to)
        if start:
            params["createdAfter"] = iso(start)
        if end:
            params["createdBefore"] = iso(end - ONE_MS)
        for name, wire in (("expected", "hasExpected"), ("promoted", "promotedToExample")):
            value = getattr(query, name)
            if value:
                params[wire] = "true" if value == "yes" else "false"
        if query.run_id:
            params["ids"] = query.run_id
        params.update(self.dialect().chip_filters.get(query.chip, {}))
        return params

    def _scan(self, params: dict, batch: int):
        """Pages of the run list, newest first: (runs, last page?) pairs. Offset pagination when
        a review filter is present (the contract ignores the cursor then), else nextCursor."""
        dialect = self.dialect()
        wire = dialect.list_params(params)
        offset_mode = any(name in wire for name in dialect.review_filters)
        offset, cursor = 0, None
        while True:
            page_params = {**wire, "limit": batch}
            if offset_mode:
                page_params["offset"] = offset
            elif cursor:
                page_params["cursor"] = cursor
            data = self.upstream.json("GET", "/runs", params=page_params) or {}
            runs = [r for r in data.get("runs") or [] if isinstance(r, dict) and r.get("id")]
            if offset_mode:
                offset += len(runs)
                done = len(data.get("runs") or []) < batch
            else:
                cursor = data.get("nextCursor")
                done = not cursor
            yield runs, done
            if done:
                return

    def _queue_scan(self, query: QueueQuery, params: dict, batch: int):
        """The run list for a screen. Unreviewed is two upstream lists merged newest first: runs
        with no feedback (noFeedback=true), and runs whose feedback has neither rating nor status
        (a note saved before any verdict), which no single filter of the contract selects."""
        if query.chip != Chip.UNREVIEWED or self.dialect().rows_carry_reviews:
            return self._scan(params, batch)
        noted = {k: v for k, v in params.items() if k != "noFeedback"} | {"feedbackRating": "none"}
        return _merge(self._scan(params, batch), self._without_status(self._scan(noted, batch)))

    def _without_status(self, scan):
        """Keep the runs whose feedback has no status (up to 3 `ids=` lookups per non-empty page)."""
        for runs, done in scan:
            ids = {r["id"] for r in runs}
            flagged = set()
            for status in ("open", "ignored", "resolved"):
                flagged |= self._ids(ids - flagged, feedbackStatus=status)
            yield [r for r in runs if r["id"] not in flagged], done

    def _ids(self, ids, **filters) -> set[str]:
        """Which of these runs match the filters: one call (ids <= 100)."""
        ids = sorted(ids)
        if not ids:
            return set()
        params = self.dialect().list_params({"ids": ",".join(ids), **filters})
        data = self.upstream.json("GET", "/runs", params={**params, "limit": len(ids), "offset": 0}) or {}
        return {r["id"] for r in data.get("runs") or [] if isinstance(r, dict) and r.get("id")}

    def _fill_chips(self, rows: list[RunInfo], known: str = "") -> None:
        """Each row's chip (DESIGN §2) from a few `ids=` lookups for all rows together."""
        if not rows or self.dialect().rows_carry_reviews:  # chips came with the rows
            return
        if known in EXACT_CHIPS:
            for row in rows:
                row.chip = known
            return
        ids = {r.id for r in rows}
        if known in (Chip.PASSED, Chip.FAILED):
            has_feedback = ids
        else:
            has_feedback = self._ids(ids, hasFeedback="true")
        passed = ids if known == Chip.PASSED else self._ids(has_feedback, feedbackRating="pass")
        opened = self._ids(has_feedback, feedbackStatus="open")
        ignored = self._ids(has_feedback - opened, feedbackStatus="ignored")
        rest = has_feedback - opened - ignored - passed
        no_rating = self._ids(rest, feedbackRating="none")
        resolved = self._ids(no_rating, feedbackStatus="resolved")
        for row in rows:
            row.chip = (Chip.UNREVIEWED if row.id not in has_feedback else Chip.OPEN if row.id in opened
                        else Chip.IGNORED if row.id in ignored else Chip.PASSED if row.id in passed
                        else Chip.UNREVIEWED if row.id in no_rating and row.id not in resolved else Chip.FAILED)

    def _matching(self, runs: list[dict], scope: _Scope, query: QueueQuery, keep) -> list[RunInfo]:
        """The runs of one upstream page that belong on the screen: position, sampling, chip."""
        rows = []
        for item in runs:
            info = self._run_info(item, scope)
            if keep((info.created_at, info.id)) and (info.sampled or not query.sampled_only):
                rows.append(info)
        if query.chip and query.chip not in EXACT_CHIPS:
            self._fill_chips(rows, query.chip)
            rows = [r for r in rows if r.chip == query.chip]
        return rows

    def queue_page(self, query: QueueQuery) -> QueuePage:
        if query.unknown_automation:
            return QueuePage(rows=[])
        scope = self._scope([query.automation] if query.automation else list(query.automations) or None)
        if query.after and not query.before:
            page = self._newer_page(query, scope)
        else:
            page = self._older_page(query, scope)
        if not query.chip:
            self._fill_chips(page.rows)
        elif query.chip in EXACT_CHIPS:
            self._fill_chips(page.rows, query.chip)
        return page

    def _batch(self, query: QueueQuery) -> int:
        filters_locally = query.sampled_only or (query.chip and query.chip not in EXACT_CHIPS)
        return BATCH if filters_locally else min(BATCH, query.page_size + 1)

    def _sample_filter(self, params: dict, query: QueueQuery, scope: _Scope) -> dict:
        """"Sampled only" in the reviews generation: the upstream keeps the runs below the highest
        rate the automations in view ever had (`sampleRate`, on its sampleRank), and Loupe's rule
        (the rate in effect at each run's creation) still decides row by row."""
        if query.sampled_only and self.dialect().rows_carry_reviews and scope.automations:
            highest = max(max([s.initial_bp, *(bp for _, bp in s.changes)])
                          for s in (scope.schedule(a) for a in scope.automations))
            if highest < BUCKETS:
                params["sampleRate"] = f"{highest / BUCKETS:g}"
        return params

    def _older_page(self, query: QueueQuery, scope: _Scope) -> QueuePage:
        params, before = self._sample_filter(self._filters(query), query, scope), query.before
        if before:  # keyset: the upstream's createdBefore may be inclusive; ties are cut below
            bound = iso(before[0] + ONE_MS)
            params["createdBefore"] = min(params.get("createdBefore", bound), bound)
        want, batch = query.page_size + 1, self._batch(query)
        matched, last_seen, exhausted = [], None, False

        def keep(key) -> bool:
            return before is None or key < before

        for scanned, (runs, done) in enumerate(self._queue_scan(query, params, batch), start=1):
            matched.extend(self._matching(runs, scope, query, keep))
            seen = [(parse_time((r.get("timing") or {}).get("createdAt")), r["id"]) for r in runs]
            seen = [key for key in seen if key[0] is not None and keep(key)]
            last_seen = min(seen) if seen else last_seen
            exhausted = done
            if len(matched) >= want or done or scanned >= settings.LOUPE_PROXY_SCAN_PAGES:
                break
        rows = matched[: query.page_size]
        page = QueuePage(rows=rows)
        if len(matched) > query.page_size:
            page.older = (rows[-1].created_at, rows[-1].id)
        elif not exhausted and last_seen:
            page.older = last_seen  # the next screen scans on from the last run looked at
            page.notice = (f"Looked at {settings.LOUPE_PROXY_SCAN_PAGES * batch:,} runs upstream and found "
                           f"{len(rows)} that match; “Older” looks further.")
        if before:
            page.newer = (rows[0].created_at, rows[0].id) if rows else None
            page.newest = not rows
        return page

    def _newer_page(self, query: QueueQuery, scope: _Scope) -> QueuePage:
        """The screen just newer than `after`: the upstream lists newest first, so this scans down
        from the newest run to `after`, and jumps to the newest screen when that is too far."""
        params, after = self._sample_filter(self._filters(query), query, scope), query.after
        bound = iso(after[0])
        params["createdAfter"] = max(params.get("createdAfter", bound), bound)
        matched, exhausted = [], False
        for scanned, (runs, done) in enumerate(self._queue_scan(query, params, BATCH), start=1):
            matched.extend(self._matching(runs, scope, query, lambda key: key > after))
            exhausted = done
            if done or scanned >= settings.LOUPE_PROXY_SCAN_PAGES:
                break
        if not exhausted or not matched:
            page = self._older_page(replace(query, after=None), scope)
            if not exhausted:
                page.notice = "Too many newer runs to page back one screen; showing the newest runs."
            return page
        rows = matched[-query.page_size:]
        page = QueuePage(rows=rows, older=(rows[-1].created_at, rows[-1].id))
        if len(matched) > query.page_size:
            page.newer = (rows[0].created_at, rows[0].id)
        return page

    def neighbour(self, query: QueueQuery, run: RunInfo, direction: str) -> str | None:
        key = (run.created_at, run.id)
        step = replace(query, page_size=1, before=key if direction == "next" else None,
                       after=key if direction == "previous" else None)
        page = self.queue_page(step)
        if direction == "previous" and (page.newest or page.notice or not page.rows):
            return None
        return page.rows[0].id if page.rows else None

    def neighbours(self, query: QueueQuery, run: RunInfo) -> tuple[str | None, str | None]:
        return self.neighbour(query, run, "previous"), self.neighbour(query, run, "next")

    # -- files ---------------------------------------------------------------------------------

    def _stream(self, path: str, name: str) -> FileDownload:
        return self._streamed(self.upstream.request("GET", path, stream=True), name)

    @staticmethod
    def _streamed(response: httpx.Response, name: str) -> FileDownload:
        def chunks():
            try:
                yield from response.iter_bytes(CHUNK)
            finally:
                response.close()

        length = response.headers.get("content-length", "")
        return FileDownload(chunks=chunks(), filename=name.rsplit("/", 1)[-1],
                            content_type=response.headers.get("content-type", "").split(";")[0].strip(),
                            size=int(length) if length.isdigit() and "content-encoding" not in response.headers
                            else None)

    def run_file(self, run_id: str, key: str) -> FileDownload:
        return self._stream(f"/runs/{seg(run_id)}/artifacts/{file_path(key)}", key)

    def expected_file(self, run_id: str, key: str) -> FileDownload:
        return self._stream(self.dialect().expected_path(run_id, key), key)

    def read_head(self, run: RunInfo, file: FileInfo, limit: int, *, expected: bool = False) -> bytes:
        download = self.expected_file(run.id, file.key) if expected else self.run_file(run.id, file.key)
        data = bytearray()
        try:
            for chunk in download.chunks:
                data.extend(chunk)
                if len(data) >= limit:
                    break
        finally:
            download.chunks.close()
        return bytes(data[:limit])

    def audit_trail(self, run_id: str, limit: int = 50) -> list:
        return audit_trail(run_id, limit)

    # -- writes ----------------------------------------------------------------------------------

    def _audit(self, run_id: str, user, action: str, changes: dict) -> None:
        AuditEvent.objects.create(run_id=run_id, user=user if getattr(user, "pk", None) else None,
                                  via=AuditEvent.Via.WEB, action=action, changes=changes)

    def review_update(self, *, run: RunInfo, changes: dict, user, base_version: int | None, action: str) -> None:
        current = run.review or ReviewInfo()
        if base_version is not None and base_version != current.version:
            raise ReviewConflict(current)
        diff = {}
        for name, new in changes.items():
            new = "" if name == "body" and new is None else new
            old = getattr(current, name)
            if old != new:
                diff[name] = [old, new]
        if not diff:
            return
        try:
            self.dialect().put_review(self.upstream, run.id, {name: changes[name] for name in diff},
                                      {"rating": current.rating, "status": current.status, "body": current.body,
                                       "expected": current.expected, "files": [f.name for f in current.expected_files],
                                       "wire": current.wire} if run.review else None)
        except BackendError as exc:
            if exc.status != 412:  # 412: the upstream's review changed since it was read (If-Match)
                raise
            raise ReviewConflict(self.run(run.id).review or ReviewInfo()) from None
        self._audit(run.id, user, action, diff)

    @staticmethod
    def _clean(name: str) -> str:
        try:
            return safe_relative_path(name)
        except BadFileName as exc:
            raise ChangeRefused(str(exc), field="name") from None

    def expected_file_upload(self, *, run: RunInfo, upload, name: str | None, user) -> str:
        clean = self._clean(name or getattr(upload, "name", "") or "file")
        content = upload.read()  # bounded by LOUPE_MAX_UPLOAD_BYTES (ExpectedUploadForm)
        content_type = getattr(upload, "content_type", "") or guess_content_type(clean)
        # Idempotent: the upstream replaces a file of the same name, so a retry lands the same state.
        data = self.upstream.json("POST", self.dialect().expected_path(run.id), data={"name": clean},
                                  files={"file": (clean.rsplit("/", 1)[-1], content, content_type)},
                                  idempotent=True) or {}
        stored = data.get("name") or clean
        self._audit(run.id, user, "expected_file:upload", {"size": len(content), "name": stored})
        return stored

    def expected_file_copy(self, *, run: RunInfo, output_name: str, expected_name: str | None, user) -> str:
        body = {"outputFileName": output_name}
        if expected_name:
            body["expectedName"] = self._clean(expected_name)
        data = self.upstream.json("POST", self.dialect().expected_path(run.id), json=body, idempotent=True) or {}
        stored = data.get("name") or body.get("expectedName") or output_name
        self._audit(run.id, user, "expected_file:copy", {"from": output_name, "name": stored})
        return stored

    def expected_file_rename(self, *, run: RunInfo, name: str, new_name: str, user) -> str:
        clean = self._clean(new_name)
        # Not idempotent: a repeated rename after a timeout would find no file of the old name.
        data = self.upstream.json("PATCH", self.dialect().expected_path(run.id, name), json={"name": clean}) or {}
        stored = data.get("name") or clean
        self._audit(run.id, user, "expected_file:rename", {"from": name, "name": stored})
        return stored

    def expected_file_delete(self, *, run: RunInfo, name: str, user) -> str:
        self.upstream.request("DELETE", self.dialect().expected_path(run.id, name))
        self._audit(run.id, user, "expected_file:delete", {"name": name})
        return name

    def promote(self, *, run: RunInfo, name: str, user) -> PromoteResult:
        # An upsert by name upstream (contract §2.6), so retrying it is safe.
        data = self.upstream.json("POST", f"/runs/{seg(run.id)}/promote", json={"name": name}, idempotent=True) or {}
        result = PromoteResult(example_id=str(data.get("exampleId") or ""), name=data.get("name") or name)
        old = run.review.promoted_example_name if run.review else None
        self._audit(run.id, user, "promote", {"promoted_example_name": [old, result.name],
                                              "has_expected": bool(run.review and run.review.expected is not None),
                                              "example_id": result.example_id})
        return result

    # -- datasets --------------------------------------------------------------------------------

    def _examples_path(self, automation: Automation, example_id: str | None = None) -> str:
        path = f"/automations/{seg(automation.remote_id or automation.ref)}/examples"
        return f"{path}/{seg(example_id)}" if example_id is not None else path

    def datasets(self) -> list[tuple[Automation, int | None]]:
        """One count call per automation (`limit=1` reads the total), for the first
        DATASET_COUNTS automations; the rest show no count."""
        rows = []
        for n, automation in enumerate(self.automations()):
            count = None
            if n < DATASET_COUNTS:
                data = self.upstream.json("GET", self._examples_path(automation), params={"limit": 1, "offset": 0})
                count = (data or {}).get("total")
            rows.append((automation, count))
        return rows

    def _example_info(self, item: dict, *, detail: bool = False) -> ExampleInfo:
        metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        files = [FileInfo(key=f"expected/{f['name']}", name=f["name"], role="expected")
                 for f in item.get("expectedFiles") or [] if isinstance(f, dict) and f.get("name")]
        info = ExampleInfo(
            id=str(item.get("id")), name=item.get("name") or "", annotation=item.get("annotation"),
            has_expected=item.get("expected") is not None, n_files=len(files),
            source_run_id=metadata.get("sourceRunId"), created_at=parse_time(item.get("createdAt")),
            updated_at=parse_time(item.get("updatedAt")), row_order=item.get("rowOrder"),
            promoted_by=metadata.get("promotedBy") or "", metadata=item.get("metadata"), files=files)
        if detail:
            info.input, info.expected = item.get("input"), item.get("expected")
        return info

    def examples_page(self, automation: Automation, number: int, page_size: int) -> ExamplePage:
        data = self.upstream.json("GET", self._examples_path(automation),
                                  params={"limit": page_size, "offset": (number - 1) * page_size}) or {}
        rows = [self._example_info(item) for item in data.get("data") or [] if isinstance(item, dict)]
        return ExamplePage(rows=rows, number=number, count=data.get("total") or 0, page_size=page_size)

    def example(self, automation: Automation, example_id: str) -> ExampleInfo:
        """Two calls: the example (with its expected files) and the list of its input files."""
        path = self._examples_path(automation, example_id)
        info = self._example_info(self.upstream.json("GET", path) or {}, detail=True)
        inputs = (self.upstream.json("GET", f"{path}/input") or {}).get("files") or []
        info.files = [FileInfo(key=f"input/{name}", name=name, role="input") for name in inputs] + info.files
        info.n_files = len(info.files)
        return info

    def example_update(self, *, automation: Automation, example: ExampleInfo, changes: dict, user) -> None:
        changes = dict(changes)
        if changes.pop("assertions", None):
            raise ChangeRefused("The EigenPal API keeps no assertions: in proxy mode examples are checked against "
                                "their expected output upstream. Leave this empty.", field="assertions")
        self.upstream.json("PATCH", self._examples_path(automation, example.id), json=changes, idempotent=True)

    def example_delete(self, *, automation: Automation, example: ExampleInfo, user) -> None:
        self.upstream.request("DELETE", self._examples_path(automation, example.id))

    def example_file(self, automation: Automation, example_id: str, key: str) -> FileDownload:
        folder, _, path = key.partition("/")
        if folder not in ("input", "expected") or not path:
            raise NotFound("No such file in this example.")
        return self._stream(f"{self._examples_path(automation, example_id)}/{folder}/{file_path(path)}", path)

    def dataset_export(self, automation: Automation, example_ids: list[str] | None) -> FileDownload:
        params = {"exampleIds": ",".join(example_ids)} if example_ids else None
        response = self.upstream.request("GET", f"/automations/{seg(automation.remote_id or automation.ref)}"
                                                "/dataset/export", params=params, stream=True)
        download = self._streamed(response, f"{automation.ref}-dataset.zip")
        download.content_type = download.content_type or "application/zip"
        return download

    def dataset_import(self, *, automation: Automation, upload, mode: str, user):
        content = upload.read()
        data = self.upstream.json(
            "POST", f"/automations/{seg(automation.remote_id or automation.ref)}/dataset/import",
            data={"mode": mode}, files={"file": (getattr(upload, "name", None) or "dataset.zip", content,
                                                 "application/zip")}) or {}
        # Not retried on timeouts: "append" may already have created examples upstream.
        return ImportResult(mode=data.get("mode") or mode, created=data.get("created") or 0,
                            expected_set=data.get("expectedSet") or 0, skipped=data.get("skipped") or 0,
                            issues=[i for i in data.get("issues") or [] if isinstance(i, dict)],
                            deleted=data.get("deleted") or 0, files_deleted=data.get("filesDeleted") or 0)
