"""Proxy mode: the queue (filters mapped to the upstream run list, scans, chips, neighbours)."""

from dataclasses import replace

from django.conf import settings

from backends.base import (
    QueuePage,
    QueueQuery,
    RunInfo,
)
from backends.eigenpal.wire import BATCH, EXACT_CHIPS, ONE_MS, _merge, _Scope, iso, parse_time
from review.queries import day_bounds
from runs.chips import Chip
from runs.sampling import BUCKETS


class QueueMixin:
    """Mixed into EigenpalBackend (backends/eigenpal/__init__.py)."""

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
        """Each row's chip (docs/rules.md#chips) from a few `ids=` lookups for all rows together; in
        the reviews generation the rows brought their chips (their review summaries)."""
        if not rows or self.dialect().rows_carry_reviews:
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
