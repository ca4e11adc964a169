"""Runs as the EigenPal API serves them: the runs list, one run, its scores and artifacts
(docs/api-feedback.md). Serialisers are in api/serializers.py.

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

from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.fields.json import KeyTransform
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from api.serializers import (
    EXPAND_SECTIONS,
    TASK_HEAVY,
    artifact_to_dict,
    run_list_item_to_dict,
    run_to_dict,
    step_to_dict,
    usage_to_dict,
)
from api.support import (
    ApiError,
    Query,
    api_response,
    api_view,
    bad_request,
    get_run,
    iso,
    limit_and_offset,
    not_found,
)
from datasets.models import ExampleCheck
from review.models import ExpectedFile, Review
from runs.chips import STATUS_IN, VERDICT_IN, VERDICT_OUT, Chip, Rating, ReviewStatus
from runs.models import (
    Automation,
    AutomationKind,
    EvaluatorScore,
    FileRole,
    Run,
    RunFile,
    RunStatus,
    RunStep,
)

# --- the runs list ----------------------------------------------------------------------

# hasNote without loading the note itself (it may be 20,000 characters).
_HAS_NOTE = Case(When(review__body__gt="", then=Value(True)), default=Value(False), output_field=BooleanField())

FEEDBACK_FILTERS = (
    "hasFeedback", "noFeedback", "feedbackStatus", "feedbackRating", "hasExpected", "promotedToExample",
    "sinceLastResolved",
    # EigenPal's older agent-executions API; optional extras.
    "hasExpectedJson", "hasExpectedFiles", "feedbackBodyContains", "promotedExampleName",
    "feedbackCreatedAfter", "feedbackCreatedBefore", "feedbackUpdatedAfter", "feedbackUpdatedBefore",
    "feedbackResolvedAfter", "feedbackResolvedBefore",
    # The reviews generation (SDK 0.20, docs/api-reviews.md).
    "hasReview", "noReview", "reviewStatus", "reviewVerdict", "hasCorrections", "reviewNoteContains",
    "reviewCreatedAfter", "reviewCreatedBefore", "reviewUpdatedAfter", "reviewUpdatedBefore",
    "reviewClosedAfter", "reviewClosedBefore", "sinceLastClosed",
)
# reviews-generation values -> Loupe's (feedback-generation) values.
REVIEW_STATUS_VALUES = STATUS_IN
REVIEW_VERDICT_RATINGS = {word: tuple(r for r, w in VERDICT_OUT.items() if w == word) for word in VERDICT_IN}
RUN_FILTERS = (
    "type", "source", "status", "trigger", "triggeredBy", "sourceRef", "batchId", "exampleId",
    "exampleIdContains", "ids", "from", "to", "createdAfter", "createdBefore", "completedAfter",
    "completedBefore", "cursor", "offset", "limit",
    # The reviews generation's generic ones.
    "tag", "hasExample", "experiments", "sampleRate", "sort", "order",
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


# The SDK's own reference names parameters in snake_case and runs.list(**q) sends them as given.
RUN_QUERY_ALIASES = {_snake(n): n for n in RUN_FILTERS + FEEDBACK_FILTERS if _snake(n) != n}
RUN_QUERY_ALIASES.update({"from_": "from", "type_": "type"})
RUN_LIST_PARAMS = frozenset(RUN_FILTERS + FEEDBACK_FILTERS) | frozenset(RUN_QUERY_ALIASES)
SORT_FIELDS = {"createdAt": "created_at", "completedAt": "completed_at"}

_RELATIVE = re.compile(r"^now(?:\(\))?\s*(?:([+-])\s*(\d+)\s*([smhdw]))?$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# Date-times outside these years are refused: arithmetic on them (a default window, a relative
# offset) would leave what Python's datetime can hold, and no run was recorded then.
TIME_YEARS = (1000, 9000)
TIME_HELP = "Expected an ISO-8601 date-time or a relative time such as now()-7d."


def time_param(query: Query, name: str) -> datetime | None:
    """A date-time query parameter; anything it cannot turn into one is a 400 naming `name`
    (also a well-formed but impossible date such as 2026-13-01T00:00, or an offset too large)."""
    raw = query.get(name)
    if raw is None:
        return None
    relative = _RELATIVE.match(raw.strip())
    try:
        if relative:
            sign, amount, unit = relative.groups()
            delta = timedelta(**{_UNITS[unit]: int(amount)}) if amount else timedelta()
            value = timezone.now() + (delta if sign == "+" else -delta)
        else:
            value = parse_datetime(raw.strip().replace(" ", "+"))  # a '+' in a query string arrives as a space
    except ValueError as impossible:  # 2026-13-01, 25:00, an offset past 24 hours
        raise bad_request(name, f"Not a valid date-time ({impossible}). {TIME_HELP}") from None
    except OverflowError:
        raise bad_request(name, f"Out of range: years {TIME_YEARS[0]} to {TIME_YEARS[1]}.") from None
    if value is None:
        raise bad_request(name, TIME_HELP)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_fixed_timezone(0))
    if not TIME_YEARS[0] <= value.year <= TIME_YEARS[1]:
        raise bad_request(name, f"Out of range: years {TIME_YEARS[0]} to {TIME_YEARS[1]}.")
    return value


def _sample_rate(raw: str) -> float:
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        raise bad_request("sampleRate", "Expected a number between 0 and 1.")
    return rate


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
        sort = self.query.choice("sort", tuple(SORT_FIELDS)) or "createdAt"
        order = self.query.choice("order", ("desc", "asc")) or "desc"
        self.newest_first = sort == "createdAt" and order == "desc"
        field = SORT_FIELDS[sort]
        if field == "created_at":  # NOT NULL: plain ordering, so the (created_at, id) indexes serve it
            first = "-created_at" if order == "desc" else "created_at"
        else:
            first = F(field).desc(nulls_last=True) if order == "desc" else F(field).asc(nulls_last=True)
        self.ordering = [first, "-id" if order == "desc" else "id"]
        self.offset_mode = ("offset" in self.query or not self.newest_first
                            or any(name in self.query for name in FEEDBACK_FILTERS))

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

    def run_filters(self, qs: QuerySet) -> QuerySet:  # noqa: C901 - over the ceiling; listed in docs/architecture.md#guard-rails
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
        has_example = q.flag("hasExample")
        if has_example is not None:
            qs = qs.filter(example_id__isnull=not has_example)
        if q.flag("experiments"):
            raise bad_request("experiments", "Loupe records production runs; it has no experiment runs.")
        for tag in q.csv("tag"):
            # A regex on the tags array's JSON text, quotes included, matches one whole element on
            # SQLite and PostgreSQL alike (JSON containment is PostgreSQL-only).
            qs = qs.filter(metadata__tags__regex=re.escape(json.dumps(tag)))
        rate = q.get("sampleRate")
        if rate is not None:
            qs = qs.filter(sample_bucket__lt=_sample_rate(rate) * 10_000)
        for name, lookup in (("from", "created_at__gte"), ("createdAfter", "created_at__gte"),
                             ("to", "created_at__lte"), ("createdBefore", "created_at__lte"),
                             ("completedAfter", "completed_at__gte"), ("completedBefore", "completed_at__lte")):
            value = time_param(q, name)
            if value is not None:
                qs = qs.filter(**{lookup: value})
        return qs

    def feedback_filters(self, qs: QuerySet) -> QuerySet:  # noqa: C901 - over the ceiling; listed in docs/architecture.md#guard-rails
        q = self.query
        # EXISTS rather than a join: "no feedback" then plans as an anti-join walking the
        # (created_at, id) index newest first, which stops after one page.
        has_review = Q(Exists(Review.objects.filter(run_id=OuterRef("pk"))))
        qs = _bool_filter(qs, q.flag("hasFeedback"), has_review)
        qs = _bool_filter(qs, q.flag("hasReview"), has_review)
        for name in ("noFeedback", "noReview"):
            no_feedback = q.flag(name)
            qs = _bool_filter(qs, None if no_feedback is None else not no_feedback, has_review)
        feedback_status = q.choice("feedbackStatus", ReviewStatus.values)
        review_status = q.choice("reviewStatus", tuple(REVIEW_STATUS_VALUES))
        status = feedback_status or REVIEW_STATUS_VALUES.get(review_status)
        if status == ReviewStatus.OPEN and review_status and not feedback_status:
            # The reviews generation reads a review without a status as open (its summaries say
            # so), so its filter must match those too.
            qs = qs.filter(Q(chip=Chip.OPEN) | Q(review__isnull=False, review__status__isnull=True))
        elif status == ReviewStatus.OPEN:
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
        qs = _bool_filter(qs, q.flag("hasCorrections"), _review_exists(correction_count__gt=0))
        if q.get("reviewNoteContains") is not None:
            qs = qs.filter(review__body__icontains=q.get("reviewNoteContains"))
        for name, lookup in (("reviewCreatedAfter", "review__created_at__gte"),
                             ("reviewCreatedBefore", "review__created_at__lte"),
                             ("reviewUpdatedAfter", "review__updated_at__gte"),
                             ("reviewUpdatedBefore", "review__updated_at__lte"),
                             # closed: resolved or won't fix, both stamp resolved_at
                             ("reviewClosedAfter", "review__resolved_at__gte"),
                             ("reviewClosedBefore", "review__resolved_at__lte"),
                             ("feedbackCreatedAfter", "review__created_at__gte"),
                             ("feedbackCreatedBefore", "review__created_at__lte"),
                             ("feedbackUpdatedAfter", "review__updated_at__gte"),
                             ("feedbackUpdatedBefore", "review__updated_at__lte"),
                             ("feedbackResolvedAfter", "review__resolved_at__gte"),
                             ("feedbackResolvedBefore", "review__resolved_at__lte")):
            value = time_param(q, name)
            if value is not None:
                qs = qs.filter(**{lookup: value})
        if q.flag("sinceLastResolved") or q.flag("sinceLastClosed"):
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
              .select_related("automation", "review", "human_review_task").defer(*TASK_HEAVY)
              .annotate(tags_value=KeyTransform("tags", "metadata"), review_has_note=_HAS_NOTE))
        qs = self.feedback_filters(self.run_filters(qs)).order_by(*self.ordering)
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


def run_with_task(run_id: str) -> Run:
    """The run with its human review task (execution.humanReview), heavy task columns deferred."""
    run = Run.objects.select_related("automation", "human_review_task").defer(*TASK_HEAVY).filter(pk=run_id).first()
    if run is None:
        raise not_found(f"No run {run_id!r}.", field="id")
    return run


@api_view(params=RUN_LIST_PARAMS)
def runs_list(request: HttpRequest):
    return api_response(request, RunList(request.GET).page())


@api_view(params=None)
def run_start(request: HttpRequest):
    """Loupe records runs and never executes automations (docs/rules.md#scope)."""
    raise _not_executing()


def _not_executing() -> ApiError:
    return ApiError(403, "Loupe does not execute automations; it records runs that ran elsewhere.",
                    code="not_supported", hint="Record finished runs with POST /api/v1/ingest/runs.")


@api_view(params=None)
def run_rerun(request: HttpRequest, run_id: str):
    """Re-executing is executing: refused like starting a run (SDK 0.20 `client.rerun`)."""
    get_run(run_id)
    raise _not_executing()


@api_view()
def run_usage(request: HttpRequest, run_id: str):
    return api_response(request, usage_to_dict(get_run(run_id)))


@api_view()
def run_events(request: HttpRequest, run_id: str):
    """The run's events: the same lifecycle entries as its trace."""
    return api_response(request, {"events": trace_events(get_run(run_id))})


@api_view(params=("expand",))
def run_detail(request: HttpRequest, run_id: str):
    expand = set(Query(request.GET).csv("expand"))
    unknown = expand - set(EXPAND_SECTIONS)
    if unknown:
        raise bad_request("expand", f"Unknown section {sorted(unknown)[0]!r}; use {', '.join(EXPAND_SECTIONS)}.")
    return api_response(request, run_to_dict(run_with_task(run_id), expand=expand))


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


def evaluator_score_to_eval_result(run: Run, score: EvaluatorScore) -> dict:
    """EvalResult (all 13 keys): a score an evaluator sent with the run at ingest."""
    return {
        "id": f"score_{score.pk}",
        "runId": run.id,
        "evaluatorName": score.name,
        "evaluatorType": score.source or "external",
        "createdAt": iso(score.created_at),
        "automationId": str(run.automation_id),
        "label": score.name,
        "description": None,
        "error": None,
        "score": score.value if score.value is not None else (None if score.passed is None else float(score.passed)),
        "weight": 1.0,
        "passThreshold": None,
        "passed": score.passed,
        "details": {"source": score.source} if score.source else None,
    }


@api_view()
def run_steps(request: HttpRequest, run_id: str):
    """The run's recorded steps in the order the run took them (docs/api-reviews.md)."""
    steps = [step_to_dict(s) for s in RunStep.objects.filter(run_id=get_run(run_id).id).order_by("position")]
    return api_response(request, {"steps": steps, "total": len(steps)})


@api_view()
def run_step(request: HttpRequest, run_id: str, step_id: str):
    run = get_run(run_id)
    step = (RunStep.objects.filter(run_id=run.id, position=int(step_id)).first()
            if step_id.isdigit() and len(step_id) < 10 else None)
    if step is None:
        raise not_found(f"The run has no step {step_id!r}.", field="stepExecutionId")
    return api_response(request, step_to_dict(step))


def trace_events(run: Run) -> list[dict]:
    """The run's lifecycle as trace events, oldest first, from what Loupe recorded of it."""
    events = [{"type": "run", "phase": "created", "status": "created", "startedAt": iso(run.created_at),
               "completedAt": None, "message": f"Run recorded for {run.automation.display_name}."}]
    if run.started_at or run.completed_at:
        events.append({"type": "run", "phase": "execution", "status": run.status, "startedAt": iso(run.started_at),
                       "completedAt": iso(run.completed_at),
                       "message": run.error or f"Run {run.status}."})
    for step in RunStep.objects.filter(run_id=run.id).order_by("position"):
        events.append({"type": "step", "phase": "step", "stepName": step.name, "stepType": step.type,
                       "status": step.status, "startedAt": iso(step.started_at),
                       "completedAt": iso(step.completed_at),
                       "message": step.error or f"Step {step.name} {step.status}."})
    return events


@api_view()
def run_trace(request: HttpRequest, run_id: str):
    return api_response(request, {"events": trace_events(get_run(run_id))})


@api_view()
def run_scores(request: HttpRequest, run_id: str):
    """The run's checks against its dataset example, then the evaluator scores recorded with it."""
    run = get_run(run_id)
    checks = ExampleCheck.objects.filter(run_id=run.id).select_related("example")
    scores = [check_to_eval_result(run, check) for check in checks]
    scores += [evaluator_score_to_eval_result(run, score) for score in run.evaluator_scores.all()]
    return api_response(request, {"scores": scores})


@api_view(params=("zip",))
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
