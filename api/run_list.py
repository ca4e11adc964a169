"""The runs list of the EigenPal API (GET /api/v1/runs): its filters, ordering and pagination.

It answers from indexes: keyset pagination on (created_at, id) descending (the `run_time` /
`run_auto_time` indexes), the automation joined in the same query, the heavy JSON columns
deferred. The feedback filters use the denormalised columns (Run.chip,
Review.status/rating/has_expected/promoted_example_name) and page by offset, as the contract
says; every page costs the same fixed number of queries whatever its size. Each filter is one
small method or one row of a table below."""

import base64
import binascii
import json
import re
from datetime import datetime

from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.fields.json import KeyTransform

from api.serializers import TASK_HEAVY, run_list_item_to_dict
from api.support import Query, bad_request, limit_and_offset
from api.times import time_param
from review.models import ExpectedFile, Review
from runs.chips import STATUS_IN, VERDICT_IN, VERDICT_OUT, Chip, Rating, ReviewStatus
from runs.models import Automation, AutomationKind, Run, RunStatus

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


def _time_filters(qs: QuerySet, q: Query, names: tuple) -> QuerySet:
    for name, lookup in names:
        value = time_param(q, name)
        if value is not None:
            qs = qs.filter(**{lookup: value})
    return qs


RUN_TIMES = (("from", "created_at__gte"), ("createdAfter", "created_at__gte"), ("to", "created_at__lte"),
             ("createdBefore", "created_at__lte"), ("completedAfter", "completed_at__gte"),
             ("completedBefore", "completed_at__lte"))
REVIEW_TIMES = (("reviewCreatedAfter", "review__created_at__gte"), ("reviewCreatedBefore", "review__created_at__lte"),
                ("reviewUpdatedAfter", "review__updated_at__gte"), ("reviewUpdatedBefore", "review__updated_at__lte"),
                # closed: resolved or won't fix, both stamp resolved_at
                ("reviewClosedAfter", "review__resolved_at__gte"), ("reviewClosedBefore", "review__resolved_at__lte"),
                ("feedbackCreatedAfter", "review__created_at__gte"),
                ("feedbackCreatedBefore", "review__created_at__lte"),
                ("feedbackUpdatedAfter", "review__updated_at__gte"),
                ("feedbackUpdatedBefore", "review__updated_at__lte"),
                ("feedbackResolvedAfter", "review__resolved_at__gte"),
                ("feedbackResolvedBefore", "review__resolved_at__lte"))
PRESENCE_FILTERS = (
    ("hasExpected", _review_exists(has_expected=True)),
    ("promotedToExample", _review_exists(promoted_example_name__isnull=False)),
    ("hasExpectedJson", _review_exists(expected__isnull=False)),
    ("hasExpectedFiles", Q(Exists(ExpectedFile.objects.filter(review__run_id=OuterRef("pk"))))),
    ("hasCorrections", _review_exists(correction_count__gt=0)),
)
# A review status (feedback generation's word) as a condition on the denormalised chip.
STATUS_CONDITIONS = {
    ReviewStatus.OPEN: Q(chip=Chip.OPEN),  # chip "open" holds exactly the reviews with status open
    ReviewStatus.IGNORED: Q(chip=Chip.IGNORED),
    ReviewStatus.RESOLVED: Q(chip__in=(Chip.PASSED, Chip.FAILED), review__status=ReviewStatus.RESOLVED),
}


def _ordering(field: str, *, descending: bool) -> list:
    if field == "created_at":  # NOT NULL: plain ordering, so the (created_at, id) indexes serve it
        first = "-created_at" if descending else "created_at"
    else:
        first = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return [first, "-id" if descending else "id"]


class RunList:
    """The runs list of one request: filters from the query, ordering, pagination."""

    def __init__(self, querydict):
        self.query = Query(querydict, RUN_QUERY_ALIASES)
        self.limit, self.offset = limit_and_offset(self.query)
        self.cursor = self.query.get("cursor")
        sort = self.query.choice("sort", tuple(SORT_FIELDS)) or "createdAt"
        order = self.query.choice("order", ("desc", "asc")) or "desc"
        self.newest_first = sort == "createdAt" and order == "desc"
        self.ordering = _ordering(SORT_FIELDS[sort], descending=order == "desc")
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

    def run_filters(self, qs: QuerySet) -> QuerySet:
        qs = qs.filter(self._scope())
        for step in (self._status_filters, self._field_filters, self._metadata_filters):
            qs = step(qs)
        return _time_filters(qs, self.query, RUN_TIMES)

    def _status_filters(self, qs: QuerySet) -> QuerySet:
        q = self.query
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
        return qs

    def _field_filters(self, qs: QuerySet) -> QuerySet:
        q = self.query
        for name, lookup in (("sourceRef", "version"), ("batchId", "batch_id"), ("exampleId", "example_id"),
                             ("exampleIdContains", "example_id__contains")):
            if q.get(name) is not None:
                qs = qs.filter(**{lookup: q.get(name)})
        if q.csv("ids"):
            qs = qs.filter(pk__in=q.csv("ids"))
        has_example = q.flag("hasExample")
        return qs if has_example is None else qs.filter(example_id__isnull=not has_example)

    def _metadata_filters(self, qs: QuerySet) -> QuerySet:
        q = self.query
        if q.flag("experiments"):
            raise bad_request("experiments", "Loupe records production runs; it has no experiment runs.")
        for tag in q.csv("tag"):
            # A regex on the tags array's JSON text, quotes included, matches one whole element on
            # SQLite and PostgreSQL alike (JSON containment is PostgreSQL-only).
            qs = qs.filter(metadata__tags__regex=re.escape(json.dumps(tag)))
        rate = q.get("sampleRate")
        return qs if rate is None else qs.filter(sample_bucket__lt=_sample_rate(rate) * 10_000)

    def feedback_filters(self, qs: QuerySet) -> QuerySet:
        for step in (self._presence_filters, self._status_filter, self._rating_filters, self._text_filters,
                     self._since_last_closed):
            qs = step(qs)
        return _time_filters(qs, self.query, REVIEW_TIMES)

    def _presence_filters(self, qs: QuerySet) -> QuerySet:
        """Has (or has not) a review, expected output, a promotion, corrections."""
        q = self.query
        # EXISTS rather than a join: "no feedback" then plans as an anti-join walking the
        # (created_at, id) index newest first, which stops after one page.
        has_review = Q(Exists(Review.objects.filter(run_id=OuterRef("pk"))))
        for name, negated in (("hasFeedback", False), ("hasReview", False), ("noFeedback", True),
                              ("noReview", True)):
            flag = q.flag(name)
            qs = _bool_filter(qs, flag if flag is None or not negated else not flag, has_review)
        for name, condition in PRESENCE_FILTERS:
            qs = _bool_filter(qs, q.flag(name), condition)
        return qs

    def _status_filter(self, qs: QuerySet) -> QuerySet:
        q = self.query
        feedback_status = q.choice("feedbackStatus", ReviewStatus.values)
        review_status = q.choice("reviewStatus", tuple(REVIEW_STATUS_VALUES))
        status = feedback_status or REVIEW_STATUS_VALUES.get(review_status)
        if status == ReviewStatus.OPEN and review_status and not feedback_status:
            # The reviews generation reads a review without a status as open (its summaries say
            # so), so its filter must match those too.
            return qs.filter(Q(chip=Chip.OPEN) | Q(review__isnull=False, review__status__isnull=True))
        return qs.filter(STATUS_CONDITIONS[status]) if status in STATUS_CONDITIONS else qs

    def _rating_filters(self, qs: QuerySet) -> QuerySet:
        q = self.query
        rating = q.choice("feedbackRating", (*Rating.values, "none"))
        verdict = q.choice("reviewVerdict", (*REVIEW_VERDICT_RATINGS, "none"))
        for chosen, ratings in ((rating, {r: (r,) for r in Rating.values}), (verdict, REVIEW_VERDICT_RATINGS)):
            if chosen == "none":
                qs = qs.filter(review__isnull=False, review__rating__isnull=True)
            elif chosen is not None:
                qs = qs.filter(review__rating__in=ratings[chosen])
        return qs

    def _text_filters(self, qs: QuerySet) -> QuerySet:
        q = self.query
        for name, lookup in (("feedbackBodyContains", "review__body__icontains"),
                             ("reviewNoteContains", "review__body__icontains"),
                             ("promotedExampleName", "review__promoted_example_name")):
            if q.get(name) is not None:
                qs = qs.filter(**{lookup: q.get(name)})
        return qs

    def _since_last_closed(self, qs: QuerySet) -> QuerySet:
        if not (self.query.flag("sinceLastResolved") or self.query.flag("sinceLastClosed")):
            return qs
        # "In scope": the reviews of runs of the same automations (type/source filters).
        # status=resolved first: the (status, resolved_at) index answers the latest one.
        latest = (Review.objects.filter(status=ReviewStatus.RESOLVED, resolved_at__isnull=False)
                  .filter(**{"run__" + k: v for k, v in _flatten(self._scope())})
                  .order_by("-resolved_at").values_list("resolved_at", flat=True).first())
        return qs if latest is None else qs.filter(created_at__gt=latest)

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
