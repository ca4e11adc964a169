"""Runs and automations as the EigenPal API serves them (contract §2.2, 2.3, 2.7-2.9), plus
Loupe's own run recording endpoint, POST /api/v1/ingest/runs.

The runs list answers from indexes: keyset pagination on (created_at, id) descending (the
`run_time` / `run_auto_time` indexes), the automation joined in the same query, the heavy
JSON columns deferred. The feedback filters use the denormalised columns (Run.chip,
Review.status/rating/has_expected/promoted_example_name) and page by offset, as the
contract says; every page costs the same fixed number of queries whatever its size.
"""

import base64
import binascii
import io
import json
import re
import zipfile
from datetime import datetime, timedelta

from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.fields.json import KeyTransform
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.roles import OPS
from config.api_support import (
    ApiError,
    Query,
    api_response,
    api_view,
    bad_request,
    check_upload_size,
    is_multipart,
    iso,
    limit_and_offset,
    not_found,
)
from review.api import feedback_to_dict, run_files_to_list
from review.reviews_api import load_review, review_summary, review_to_dict
from review.chips import Chip, Rating, ReviewStatus
from review.models import ExpectedFile, Review
from runs.files import BadFileName, guess_content_type, safe_relative_path
from runs.models import (
    Automation,
    AutomationKind,
    FileRole,
    Run,
    RunFile,
    RunStatus,
)
from runs.records import FileRecord, RecordError, parse_run_record
from runs.services import runs_record

# --- serialisers (field by field as in the contract) --------------------------------------


def _source_to_dict(run: Run, *, detail: bool = False) -> dict:
    automation = run.automation
    source = {"id": str(automation.pk), "name": automation.display_name, "version": run.version}
    if automation.kind == AutomationKind.WORKFLOW:
        source["versionId"] = None
    else:
        source.update(slug=automation.slug, model=None, git=None)
    if detail:
        # Loupe records runs; it holds no implementation to execute.
        source.update(implementationAvailable=False, automationFound=True, currentVersion=None)
    return source


def _trigger_to_dict(run: Run) -> dict:
    by = None
    if run.triggered_by:
        by = {"id": run.triggered_by, "name": None, "email": run.triggered_by if "@" in run.triggered_by else ""}
    return {"type": run.trigger, "by": by}


def _execution_meta(run: Run) -> dict:
    """The slim RunExecutionMeta: every key present, null where Loupe has no value, plus the
    reviews generation's review summary, read from the review joined into the same query."""
    return {
        "status": run.status,
        "schemaValid": None,
        "batchId": run.batch_id,
        "retry": {"number": 0, "previousRunId": None, "nextRun": None},
        "review": review_summary(_joined_review(run), has_note=getattr(run, "review_has_note", None)),
    }


def _joined_review(run: Run):
    try:
        return run.review
    except Review.DoesNotExist:
        return None


# hasNote without loading the note itself (it may be 20,000 characters).
_HAS_NOTE = Case(When(review__body__gt="", then=Value(True)), default=Value(False), output_field=BooleanField())


def run_tags(run: Run) -> list[str]:
    """The run's tags: `metadata.tags` when it is a list of strings (Loupe has no tag column)."""
    if hasattr(run, "tags_value"):
        tags = run.tags_value
    else:
        tags = run.metadata.get("tags") if isinstance(run.metadata, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def sample_rank(run: Run) -> float:
    """Deterministic per run in [0, 1): Loupe's sample bucket (0-9999) / 10000, so
    sampleRate=r keeps exactly the runs sampling at rate r keeps (docs/api-reviews.md)."""
    return run.sample_bucket / 10_000


def _timing_to_dict(run: Run) -> dict:
    return {
        "createdAt": iso(run.created_at),
        "startedAt": iso(run.started_at),
        "completedAt": iso(run.completed_at),
        "cancelRequestedAt": None,
        "durationMs": run.duration_ms,
    }


def run_list_item_to_dict(run: Run) -> dict:
    """RunListItem: never carries output, files or input."""
    item = {
        "tags": run_tags(run),
        "id": run.id,
        "type": run.automation.kind,
        "sampleRank": sample_rank(run),
        "finished": run.finished,
        "timing": _timing_to_dict(run),
        "source": _source_to_dict(run),
        "trigger": _trigger_to_dict(run),
        "execution": _execution_meta(run),
    }
    if run.example_id:
        item["eval"] = {"example": None, "score": None, "passed": None}
        if run.automation.kind == AutomationKind.WORKFLOW:
            item["eval"]["exampleId"] = run.example_id
    if run.error is not None:
        item["error"] = run.error
    return item


def artifact_to_dict(run_file: RunFile) -> dict:
    """RunArtifact; `path` is `<role>/<name>`, unique per run, the value for the download URL."""
    return {
        "name": run_file.name,
        "role": run_file.role,
        "path": f"{run_file.role}/{run_file.name}",
        "contentType": run_file.content_type or None,
        "size": run_file.size,
    }


def _number(mapping: dict, *keys):
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    return None


def usage_to_dict(run: Run) -> dict | None:
    """RunUsage from the recorded usage object, which may be camelCase, snake_case or nested."""
    usage = run.usage
    if not isinstance(usage, dict):
        return None
    tokens = usage.get("tokens") if isinstance(usage.get("tokens"), dict) else usage
    result = {
        "tokens": {
            "input": _number(tokens, "input", "inputTokens", "input_tokens", "prompt_tokens"),
            "output": _number(tokens, "output", "outputTokens", "output_tokens", "completion_tokens"),
            "cacheRead": _number(tokens, "cacheRead", "cacheReadTokens", "cache_read", "cache_read_tokens"),
            "cacheWrite": _number(tokens, "cacheWrite", "cacheWriteTokens", "cache_write", "cache_write_tokens"),
        },
        "creditsCharged": _number(usage, "creditsCharged", "credits_charged", "credits"),
        "durationMs": _number(usage, "durationMs", "duration_ms") or run.duration_ms,
    }
    if run.automation.kind == AutomationKind.WORKFLOW:
        result["llmCallCount"] = _number(usage, "llmCallCount", "llm_call_count", "llmCalls") or 0
        result["ocrPagesProcessed"] = _number(usage, "ocrPagesProcessed", "ocr_pages_processed", "ocrPages") or 0
    else:
        result["agentTurns"] = _number(usage, "agentTurns", "agent_turns", "turns")
    return result


def _execution_full(run: Run, files: list[RunFile], review: Review | None) -> dict:
    """expand=execution: the slim meta plus steps (workflow) or files (agent), the review in
    both generations (feedback, review) and expected as {output, files} (contract quirk 5)."""
    expected_files = list(ExpectedFile.objects.filter(review=review)) if review is not None else []
    execution = _execution_meta(run)
    if run.automation.kind == AutomationKind.WORKFLOW:
        execution["steps"] = []
    else:
        execution["files"] = {"output": run_files_to_list(f for f in files if f.role == FileRole.OUTPUT)}
    execution["feedback"] = feedback_to_dict(review)
    execution["review"] = review_to_dict(review)
    execution["expected"] = {
        "output": review.expected if review is not None else None,
        "files": run_files_to_list(expected_files),
    }
    return execution


EXPAND_SECTIONS = ("input", "usage", "execution", "debug")


def run_to_dict(run: Run, *, expand: set[str] = frozenset()) -> dict:
    """Run: the list item plus output and files, with the expanded sections merged in."""
    files = list(run.files.all())
    review = load_review(run)  # with its users and corrections: both generations' review and the summary
    Run.review.related.set_cached_value(run, review)
    data = run_list_item_to_dict(run)
    data["source"] = _source_to_dict(run, detail=True)
    data["output"] = run.output
    data["files"] = [artifact_to_dict(f) for f in files]
    if "execution" in expand:
        data["execution"] = _execution_full(run, files, review)
    if "input" in expand:
        data["input"] = {
            "args": run.input,
            "files": run_files_to_list(f for f in files if f.role == FileRole.INPUT),
            "metadata": run.metadata,
        }
    if "usage" in expand:
        data["usage"] = usage_to_dict(run)
    if "debug" in expand:
        metadata = run.metadata if isinstance(run.metadata, dict) else {}
        data["debug"] = {"observability": metadata.get("observability"), "traceId": metadata.get("traceId")}
    return data


def automation_to_dict(automation: Automation, *, detail: bool = False) -> dict:
    data = {
        "id": str(automation.pk),
        "type": automation.kind,
        "slug": automation.slug,
        "name": automation.name or None,
        "createdAt": iso(automation.created_at),
        "description": automation.description or None,
        "status": "active",
        # Loupe records runs and never starts them, so no trigger is on.
        "triggers": {"api": False, "email": False, "manual": False, "cron": False},
        "implementationAvailable": False,
        "updatedAt": iso(automation.updated_at),
    }
    if detail:
        data.update(inputSchema=None, outputSchema=None)
    return data


# --- the runs list ----------------------------------------------------------------------

FEEDBACK_FILTERS = (
    "hasFeedback", "noFeedback", "feedbackStatus", "feedbackRating", "hasExpected", "promotedToExample",
    "sinceLastResolved",
    # EigenPal's older agent-executions API; optional extras.
    "hasExpectedJson", "hasExpectedFiles", "feedbackBodyContains", "promotedExampleName",
    "feedbackCreatedAfter", "feedbackCreatedBefore", "feedbackUpdatedAfter", "feedbackUpdatedBefore",
    "feedbackResolvedAfter", "feedbackResolvedBefore",
    # The newer "reviews" generation of the API (docs/proxy.md): the same filters renamed.
    "hasReview", "noReview", "reviewStatus", "reviewVerdict",
)
# reviews-generation values -> Loupe's (feedback-generation) values.
REVIEW_STATUS_VALUES = {"open": ReviewStatus.OPEN, "closed": ReviewStatus.RESOLVED, "wont_fix": ReviewStatus.IGNORED}
REVIEW_VERDICT_RATINGS = {"correct": (Rating.PASS,), "incorrect": (Rating.FAIL, Rating.PARTIAL)}
RUN_FILTERS = (
    "type", "source", "status", "trigger", "triggeredBy", "sourceRef", "batchId", "exampleId",
    "exampleIdContains", "ids", "from", "to", "createdAfter", "createdBefore", "completedAfter",
    "completedBefore", "cursor", "offset", "limit",
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


# The SDK's own reference names parameters in snake_case and runs.list(**q) sends them as given.
RUN_QUERY_ALIASES = {_snake(n): n for n in RUN_FILTERS + FEEDBACK_FILTERS if _snake(n) != n}
RUN_QUERY_ALIASES.update({"from_": "from", "type_": "type"})

_RELATIVE = re.compile(r"^now(?:\(\))?\s*(?:([+-])\s*(\d+)\s*([smhdw]))?$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _time_param(query: Query, name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    relative = _RELATIVE.match(raw.strip())
    if relative:
        sign, amount, unit = relative.groups()
        delta = timedelta(**{_UNITS[unit]: int(amount)}) if amount else timedelta()
        return timezone.now() + (delta if sign == "+" else -delta)
    value = parse_datetime(raw.strip().replace(" ", "+"))  # a '+' in a query string arrives as a space
    if value is None:
        raise bad_request(name, "Expected an ISO-8601 date-time or a relative time such as now()-7d.")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_fixed_timezone(0))
    return value


def encode_cursor(run: Run) -> str:
    raw = json.dumps([run.created_at.isoformat(), run.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, run_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created_at = datetime.fromisoformat(created)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise bad_request("cursor", "Not a cursor from nextCursor.") from None
    return created_at, str(run_id)


def _review_exists(**lookups) -> Q:
    return Q(Exists(Review.objects.filter(run_id=OuterRef("pk"), **lookups)))


def _bool_filter(qs: QuerySet, value: bool | None, condition: Q) -> QuerySet:
    if value is None:
        return qs
    return qs.filter(condition) if value else qs.exclude(condition)


class RunList:
    """The runs list of one request: filters from the query, ordering, pagination."""

    def __init__(self, querydict):
        self.query = Query(querydict, RUN_QUERY_ALIASES)
        self.limit, self.offset = limit_and_offset(self.query)
        self.cursor = self.query.get("cursor")
        self.offset_mode = "offset" in self.query or any(name in self.query for name in FEEDBACK_FILTERS)

    def _scope(self) -> Q:
        """The automation filters (type, source), also the scope of sinceLastResolved."""
        if not hasattr(self, "_scope_q"):
            self._scope_q = self._build_scope()
        return self._scope_q

    def _build_scope(self) -> Q:
        q = self.query
        scope = Q()
        kinds = q.csv("type")
        for kind in kinds:
            if kind not in AutomationKind.values:
                raise bad_request("type", "Expected workflow or agent.")
        if kinds:
            scope &= Q(automation__kind__in=kinds)
        sources = q.csv("source")
        if sources:
            ids = []
            for source in sources:
                try:
                    ids.append(Automation.objects.by_ref(source).pk)
                except Automation.DoesNotExist:
                    ids.append(-1)  # an unknown source matches no run
            scope &= Q(automation_id__in=ids)
        return scope

    def run_filters(self, qs: QuerySet) -> QuerySet:
        q = self.query
        qs = qs.filter(self._scope())
        statuses = q.csv("status")
        for status in statuses:
            if status not in RunStatus.values:
                raise bad_request("status", f"{status!r} is not one of {', '.join(RunStatus.values)}.")
        if statuses:
            qs = qs.filter(status__in=statuses)
        if q.csv("trigger"):
            qs = qs.filter(trigger__in=q.csv("trigger"))
        triggered_by = q.csv("triggeredBy")
        if triggered_by:
            by = Q(triggered_by__in=[t for t in triggered_by if t != "__system__"])
            if "__system__" in triggered_by:
                by |= Q(triggered_by__isnull=True)
            qs = qs.filter(by)
        for name, field in (("sourceRef", "version"), ("batchId", "batch_id"), ("exampleId", "example_id")):
            if q.get(name) is not None:
                qs = qs.filter(**{field: q.get(name)})
        if q.get("exampleIdContains") is not None:
            qs = qs.filter(example_id__contains=q.get("exampleIdContains"))
        if q.csv("ids"):
            qs = qs.filter(pk__in=q.csv("ids"))
        for name, lookup in (("from", "created_at__gte"), ("createdAfter", "created_at__gte"),
                             ("to", "created_at__lte"), ("createdBefore", "created_at__lte"),
                             ("completedAfter", "completed_at__gte"), ("completedBefore", "completed_at__lte")):
            value = _time_param(q, name)
            if value is not None:
                qs = qs.filter(**{lookup: value})
        return qs

    def feedback_filters(self, qs: QuerySet) -> QuerySet:
        q = self.query
        # EXISTS rather than a join: "no feedback" then plans as an anti-join walking the
        # (created_at, id) index newest first, which stops after one page.
        has_review = Q(Exists(Review.objects.filter(run_id=OuterRef("pk"))))
        qs = _bool_filter(qs, q.flag("hasFeedback"), has_review)
        qs = _bool_filter(qs, q.flag("hasReview"), has_review)
        for name in ("noFeedback", "noReview"):
            no_feedback = q.flag(name)
            qs = _bool_filter(qs, None if no_feedback is None else not no_feedback, has_review)
        status = q.choice("feedbackStatus", ReviewStatus.values) or REVIEW_STATUS_VALUES.get(
            q.choice("reviewStatus", tuple(REVIEW_STATUS_VALUES)))
        if status == ReviewStatus.OPEN:
            qs = qs.filter(chip=Chip.OPEN)  # chip "open" holds exactly the reviews with status open
        elif status == ReviewStatus.IGNORED:
            qs = qs.filter(chip=Chip.IGNORED)
        elif status == ReviewStatus.RESOLVED:
            qs = qs.filter(chip__in=(Chip.PASSED, Chip.FAILED), review__status=ReviewStatus.RESOLVED)
        rating = q.choice("feedbackRating", (*Rating.values, "none"))
        if rating == "none":
            qs = qs.filter(review__isnull=False, review__rating__isnull=True)
        elif rating is not None:
            qs = qs.filter(review__rating=rating)
        verdict = q.choice("reviewVerdict", (*REVIEW_VERDICT_RATINGS, "none"))
        if verdict == "none":
            qs = qs.filter(review__isnull=False, review__rating__isnull=True)
        elif verdict is not None:
            qs = qs.filter(review__rating__in=REVIEW_VERDICT_RATINGS[verdict])
        qs = _bool_filter(qs, q.flag("hasExpected"), _review_exists(has_expected=True))
        qs = _bool_filter(qs, q.flag("promotedToExample"), _review_exists(promoted_example_name__isnull=False))
        qs = _bool_filter(qs, q.flag("hasExpectedJson"), _review_exists(expected__isnull=False))
        qs = _bool_filter(qs, q.flag("hasExpectedFiles"),
                          Q(Exists(ExpectedFile.objects.filter(review__run_id=OuterRef("pk")))))
        if q.get("feedbackBodyContains") is not None:
            qs = qs.filter(review__body__icontains=q.get("feedbackBodyContains"))
        if q.get("promotedExampleName") is not None:
            qs = qs.filter(review__promoted_example_name=q.get("promotedExampleName"))
        for name, lookup in (("feedbackCreatedAfter", "review__created_at__gte"),
                             ("feedbackCreatedBefore", "review__created_at__lte"),
                             ("feedbackUpdatedAfter", "review__updated_at__gte"),
                             ("feedbackUpdatedBefore", "review__updated_at__lte"),
                             ("feedbackResolvedAfter", "review__resolved_at__gte"),
                             ("feedbackResolvedBefore", "review__resolved_at__lte")):
            value = _time_param(q, name)
            if value is not None:
                qs = qs.filter(**{lookup: value})
        if q.flag("sinceLastResolved"):
            # "In scope": the reviews of runs of the same automations (type/source filters).
            # status=resolved first: the (status, resolved_at) index answers the latest one.
            latest = (Review.objects.filter(status=ReviewStatus.RESOLVED, resolved_at__isnull=False)
                      .filter(**{"run__" + k: v for k, v in _flatten(self._scope())})
                      .order_by("-resolved_at").values_list("resolved_at", flat=True).first())
            if latest is not None:
                qs = qs.filter(created_at__gt=latest)
        return qs

    def page(self) -> dict:
        # The review is joined (its summary is on every row) and the tags are read out of the
        # metadata column in SQL, so the page stays one query with the large columns deferred.
        qs = (Run.objects.defer("input", "output", "usage", "metadata", "review__expected", "review__corrected_paths",
                                "review__body")
              .select_related("automation", "review")
              .annotate(tags_value=KeyTransform("tags", "metadata"), review_has_note=_HAS_NOTE))
        qs = self.feedback_filters(self.run_filters(qs)).order_by("-created_at", "-id")
        if self.offset_mode:
            runs = list(qs[self.offset:self.offset + self.limit])
            return {"runs": [run_list_item_to_dict(r) for r in runs], "nextCursor": None}
        if self.cursor:
            created_at, run_id = _decode_cursor(self.cursor)
            qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=run_id))
        runs = list(qs[: self.limit + 1])
        more = len(runs) > self.limit
        runs = runs[: self.limit]
        return {"runs": [run_list_item_to_dict(r) for r in runs],
                "nextCursor": encode_cursor(runs[-1]) if more else None}


def _flatten(q: Q):
    """The (lookup, value) pairs of a Q made only of AND-ed keyword lookups (the scope)."""
    for child in q.children:
        if isinstance(child, Q):
            yield from _flatten(child)
        else:
            yield child


# --- endpoints ---------------------------------------------------------------------------


def get_run(run_id: str) -> Run:
    run = Run.objects.select_related("automation").filter(pk=run_id).first()
    if run is None:
        raise not_found(f"No run {run_id!r}.", field="id")
    return run


@api_view()
def runs_list(request: HttpRequest):
    return api_response(request, RunList(request.GET).page())


@api_view()
def run_start(request: HttpRequest):
    """Loupe records runs and never executes automations (DESIGN §8)."""
    raise ApiError(403, "Loupe does not execute automations; it records runs that ran elsewhere.",
                   code="not_supported", hint="Record finished runs with POST /api/v1/ingest/runs.")


@api_view()
def run_detail(request: HttpRequest, run_id: str):
    query = Query(request.GET)
    expand = set(query.csv("expand"))
    unknown = expand - set(EXPAND_SECTIONS)
    if unknown:
        raise bad_request("expand", f"Unknown section {sorted(unknown)[0]!r}; use {', '.join(EXPAND_SECTIONS)}.")
    include = set(query.csv("include"))
    if include - {"detail"}:
        raise bad_request("include", "The only section is detail.")
    run = get_run(run_id)
    if "detail" not in include:
        return api_response(request, run_to_dict(run, expand=expand))
    # The reviews generation: include=detail adds the input, the review and the expected output.
    from review.api import review_detail_to_dict

    data = run_to_dict(run, expand=expand | {"input"})
    data.update(review_detail_to_dict(run))
    return api_response(request, data)


def check_to_eval_result(run: Run, check) -> dict:
    """EvalResult (all 13 keys): a run of a dataset example checked against the example."""
    verdict = check.verdict
    return {
        "id": f"check_{check.pk}",
        "runId": run.id,
        "evaluatorName": "loupe.example-check",
        "evaluatorType": "example",
        "createdAt": iso(check.created_at),
        "automationId": str(run.automation_id),
        "label": check.example.name,
        "description": check.summary or None,
        "error": (check.summary or "blocked") if verdict == "blocked" else None,
        "score": None if verdict == "blocked" else (1.0 if verdict == "passed" else 0.0),
        "weight": 1.0,
        "passThreshold": 1.0,
        "passed": None if verdict == "blocked" else verdict == "passed",
        "details": check.details,
    }


@api_view()
def run_scores(request: HttpRequest, run_id: str):
    """The run's checks against its dataset example (empty for runs that are not example runs)."""
    from datasets.models import ExampleCheck

    run = get_run(run_id)
    checks = ExampleCheck.objects.filter(run_id=run.id).select_related("example")
    return api_response(request, {"scores": [check_to_eval_result(run, check) for check in checks]})


@api_view()
def artifacts_list(request: HttpRequest, run_id: str):
    run = get_run(run_id)
    files = list(run.files.all())
    if Query(request.GET).flag("zip"):
        return _artifacts_zip(run, [f for f in files if f.role == FileRole.OUTPUT])
    return api_response(request, {"artifacts": [artifact_to_dict(f) for f in files]})


def _artifacts_zip(run: Run, files: list[RunFile]) -> HttpResponse:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for run_file in files:
            with run_file.file.open("rb") as handle:
                archive.writestr(run_file.name, handle.read())
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{run.pk}-artifacts.zip"'
    return response


def _find_artifact(run: Run, path: str) -> RunFile | None:
    """`<role>/<name>` as listed, or a bare name (an output file first)."""
    role, _, name = path.partition("/")
    if name and role in FileRole.values:
        found = RunFile.objects.filter(run=run, role=role, name=name).first()
        if found:
            return found
    candidates = {f.role: f for f in RunFile.objects.filter(run=run, name=path)}
    return candidates.get(FileRole.OUTPUT) or next(iter(candidates.values()), None)


@api_view()
def artifact_download(request: HttpRequest, run_id: str, path: str):
    run_file = _find_artifact(get_run(run_id), path)
    if run_file is None:
        raise not_found(f"The run has no artifact {path!r}.", field="path")
    return FileResponse(run_file.file.open("rb"), as_attachment=True, filename=run_file.name.rsplit("/", 1)[-1],
                        content_type=run_file.content_type or "application/octet-stream")


@api_view()
def automations_list(request: HttpRequest):
    query = Query(request.GET)
    limit, offset = limit_and_offset(query)
    qs = Automation.objects.order_by("kind", "slug")
    kind = query.choice("type", AutomationKind.values)
    if kind:
        qs = qs.filter(kind=kind)
    search = query.get("search")
    if search:
        qs = qs.filter(Q(slug__icontains=search) | Q(name__icontains=search) | Q(description__icontains=search))
    page = list(qs[offset:offset + limit])
    return api_response(request, {"data": [automation_to_dict(a) for a in page], "total": qs.count(),
                                  "limit": limit, "offset": offset})


def get_automation(ref: str) -> Automation:
    """By id or by the typed alias `workflows.<slug>` / `agents.<slug>`."""
    try:
        return Automation.objects.by_ref(ref)
    except Automation.DoesNotExist:
        raise not_found(f"No automation {ref!r}; use its id or workflows.<slug> / agents.<slug>.",
                        field="id") from None


@api_view()
def automation_detail(request: HttpRequest, automation_id: str):
    return api_response(request, automation_to_dict(get_automation(automation_id), detail=True))


# --- recording runs ----------------------------------------------------------------------

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")


def _entries(text: str, content_type: str) -> list[tuple[int, int | None, object]]:
    """(index, line, object) per run: one JSON object, a JSON list, or NDJSON (one per line)."""
    if content_type not in NDJSON_TYPES:
        try:
            data = json.loads(text)
        except ValueError:
            if "\n" not in text.strip():
                raise bad_request("<root>", "The body is neither JSON nor NDJSON.") from None
        else:
            if isinstance(data, list):
                return [(i, None, obj) for i, obj in enumerate(data)]
            return [(0, None, data)]
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            obj = RecordError(f"<root>: line {number} is not valid JSON ({exc.msg}).")
        entries.append((len(entries), number, obj))
    return entries


def _file_parts(request: HttpRequest, run_ids: set[str]) -> dict[str, list[FileRecord]]:
    """Multipart file parts named `files.<runId>.<role>`; the part's filename is the file name."""
    found: dict[str, list[FileRecord]] = {}
    for part_name in request.FILES:
        prefix, _, rest = part_name.partition(".")
        run_id, _, role = rest.rpartition(".")
        if prefix != "files" or not run_id or role not in FileRole.values:
            raise bad_request(part_name, "File parts are named files.<runId>.<role>, role one of "
                                         f"{', '.join(FileRole.values)}.")
        if run_id not in run_ids:
            raise bad_request(part_name, f"The part names run {run_id!r}, which is not in this request.")
        for upload in request.FILES.getlist(part_name):
            try:
                name = safe_relative_path(upload.name)
            except BadFileName as exc:
                raise bad_request(part_name, str(exc)) from None
            found.setdefault(run_id, []).append(FileRecord(
                name=name, role=role, content=upload.read(),
                content_type=upload.content_type or guess_content_type(name)))
    return found


def _rejection(index: int, line: int | None, obj, exc: RecordError) -> dict:
    field, sep, message = str(exc).partition(": ")
    if not sep or " " in field:
        field, message = "<root>", str(exc)
    return {"index": index, "line": line, "id": obj.get("id") if isinstance(obj, dict) else None,
            "field": field, "message": message}


@api_view(roles=(OPS,), action="record runs")
def ingest_runs(request: HttpRequest):
    """Record runs, idempotent on run id: a repeat updates the run in place and keeps its review.

    Bodies: one run object, a JSON list, or NDJSON (application/x-ndjson). Multipart: a `runs`
    field holding any of those, plus file parts named `files.<runId>.<role>`.
    """
    if is_multipart(request):
        check_upload_size(request, files=20)
        text = request.POST.get("runs", "")
        content_type = ""
    else:
        text = request.body.decode("utf-8", errors="replace")
        content_type = request.content_type or ""
    if not text.strip():
        raise bad_request("runs", "Send one run, a JSON list of runs, or NDJSON.")
    records, rejected = [], []
    for index, line, obj in _entries(text, content_type):
        try:
            if isinstance(obj, RecordError):
                raise obj
            records.append(parse_run_record(obj))
        except RecordError as exc:
            rejected.append(_rejection(index, line, obj, exc))
    if is_multipart(request):
        parts = _file_parts(request, {r.id for r in records})
        for record in records:
            record.files.extend(parts.get(record.id, []))
    result = runs_record(records)
    if rejected and not records:
        raise ApiError(400, issues=[
            {"field": f"{r['index']}.{r['field']}" if r["field"] != "<root>" else str(r["index"]),
             "message": r["message"] + (f" (line {r['line']})" if r["line"] else ""),
             "code": "invalid_value", "severity": "error"} for r in rejected])
    return api_response(request, {"created": result.created, "updated": result.updated, "rejected": rejected})
