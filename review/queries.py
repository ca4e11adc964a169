"""Reads for the review screens: the queue list object and the review pane's data."""

import base64
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from urllib.parse import quote, urlencode

from django.db.models import Q, QuerySet, Sum
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from review.chips import Chip
from review.forms import QueueFilterForm
from review.models import AuditEvent
from runs.models import Automation, ChipCount, Run, RunStatus

# Query-string keys that make up a queue state (what "next in queue" follows).
STATE_KEYS = ("automation", "chip", "status", "date_from", "date_to", "expected", "promoted", "scope", "q")


def encode_cursor(run: Run) -> str:
    raw = f"{run.created_at.isoformat()}|{run.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, str] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        stamp, run_id = raw.split("|", 1)
        return datetime.fromisoformat(stamp), run_id
    except (ValueError, UnicodeDecodeError):
        return None


def _older_than(created_at: datetime, run_id: str) -> Q:
    return Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=run_id)


def _newer_than(created_at: datetime, run_id: str) -> Q:
    return Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=run_id)


@dataclass
class RunQueue:
    """The queue of one automation (or all of them), like the admin's ChangeList: it owns the
    filters, keyset pagination and the links' query strings. Never counts the run table:
    chip counts come from the ChipCount counters, "is there a next page" from one extra row."""

    params: QueryDict
    page_size: int
    form: QueueFilterForm = field(init=False)
    automations: list[Automation] = field(init=False)
    automation: Automation | None = field(init=False, default=None)
    unknown_automation: bool = field(init=False, default=False)

    def __post_init__(self):
        self.form = QueueFilterForm(self.params)
        self.form.is_valid()
        self.filters = {k: v for k, v in self.form.cleaned_data.items()}
        for name in self.form.errors:
            self.filters.pop(name, None)
        self.filters.setdefault("scope", "sampled")
        self.automations = list(Automation.objects.only("id", "kind", "slug", "name").order_by("kind", "slug"))
        ref = self.filters.get("automation") or ""
        if ref:
            self.automation = next((a for a in self.automations if a.ref == ref), None)
            self.unknown_automation = self.automation is None

    # -- state and links -------------------------------------------------------------------

    @property
    def state(self) -> dict[str, str]:
        """The queue's filter state as query-string values (no pagination)."""
        out = {}
        for key in STATE_KEYS:
            value = self.filters.get(key)
            if value in (None, ""):
                continue
            if key == "scope" and value == "sampled":
                continue
            out[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return out

    def querystring(self, **overrides) -> str:
        state = {**self.state, **{k: v for k, v in overrides.items()}}
        state = {k: v for k, v in state.items() if v not in (None, "")}
        return "?" + urlencode(state) if state else "?"

    def chip_links(self) -> list[dict]:
        counts = self.chip_counts()
        total = sum(counts.values())
        current = self.filters.get("chip") or ""
        links = [{"value": "", "label": "All", "count": total, "current": current == "",
                  "qs": self.querystring(chip=None)}]
        for chip in Chip:
            links.append({"value": chip.value, "label": chip.label, "count": counts.get(chip.value, 0),
                          "current": current == chip.value, "qs": self.querystring(chip=chip.value)})
        return links

    # -- queries ----------------------------------------------------------------------------

    def chip_counts(self) -> dict[str, int]:
        if getattr(self, "_counts", None) is None:
            rows = ChipCount.objects.all()
            if self.automation:
                rows = rows.filter(automation=self.automation)
            elif self.unknown_automation:
                rows = rows.none()
            if self.filters["scope"] == "sampled":
                rows = rows.filter(sampled=True)
            self._counts = {r["chip"]: max(r["n"] or 0, 0) for r in rows.values("chip").annotate(n=Sum("count"))}
        return self._counts

    def queryset(self) -> QuerySet:
        f = self.filters
        runs = Run.objects.light().select_related("automation")
        if self.unknown_automation:
            return runs.none()
        if self.automation:
            runs = runs.filter(automation=self.automation)
        if f["scope"] == "sampled":
            runs = runs.filter(sampled=True)
        if f.get("chip"):
            runs = runs.filter(chip=f["chip"])
        if f.get("status"):
            runs = runs.filter(status=f["status"])
        tz = timezone.get_current_timezone()
        if f.get("date_from"):
            runs = runs.filter(created_at__gte=datetime.combine(f["date_from"], time.min, tzinfo=tz))
        if f.get("date_to"):
            runs = runs.filter(created_at__lt=datetime.combine(f["date_to"] + timedelta(days=1), time.min, tzinfo=tz))
        if f.get("expected") == "yes":
            runs = runs.filter(review__has_expected=True)
        elif f.get("expected") == "no":
            runs = runs.exclude(review__has_expected=True)
        if f.get("promoted") == "yes":
            runs = runs.filter(review__promoted_example_name__isnull=False)
        elif f.get("promoted") == "no":
            runs = runs.exclude(review__promoted_example_name__isnull=False)
        if f.get("q"):
            runs = runs.filter(pk=f["q"])
        return runs

    def page(self) -> "QueuePage":
        if getattr(self, "_page", None) is not None:
            return self._page
        runs = self.queryset()
        before = decode_cursor(self.filters.get("before") or "")
        after = decode_cursor(self.filters.get("after") or "")
        if after and not before:
            rows = list(runs.filter(_newer_than(*after)).order_by("created_at", "id")[: self.page_size + 1])
            has_newer = len(rows) > self.page_size
            rows = list(reversed(rows[: self.page_size]))
            has_older = True
        else:
            if before:
                runs = runs.filter(_older_than(*before))
            rows = list(runs.order_by("-created_at", "-id")[: self.page_size + 1])
            has_older = len(rows) > self.page_size
            rows = rows[: self.page_size]
            has_newer = before is not None
        older = self.querystring(before=encode_cursor(rows[-1])) if rows and has_older else None
        newer = self.querystring(after=encode_cursor(rows[0])) if rows and has_newer else None
        link_qs = self.querystring()
        self._page = QueuePage(rows=rows, older_qs=older, newer_qs=newer, link_qs="" if link_qs == "?" else link_qs)
        return self._page

    def neighbours(self, run: Run) -> tuple[Run | None, Run | None]:
        """The runs just newer (previous) and just older (next) than `run` in this queue."""
        runs = self.queryset().select_related(None).only("id", "created_at")
        previous = runs.filter(_newer_than(run.created_at, run.pk)).order_by("created_at", "id").first()
        following = runs.filter(_older_than(run.created_at, run.pk)).order_by("-created_at", "-id").first()
        return previous, following


@dataclass
class QueuePage:
    rows: list[Run]
    older_qs: str | None
    newer_qs: str | None
    link_qs: str = ""

    def display_rows(self) -> list["QueueRow"]:
        """Rows with their display values computed once in Python: per-row template filters
        (naturaltime, date, url, choice labels) were most of the queue page's time."""
        now = timezone.now()
        tz = timezone.get_current_timezone()
        url_pattern = reverse("run_detail", args=["RUN_ID"])
        return [
            QueueRow(
                run=run,
                url=url_pattern.replace("RUN_ID", quote(run.pk, safe="")) + self.link_qs,
                created_iso=run.created_at.isoformat(),
                created_title=run.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z"),
                created_ago=ago(run.created_at, now),
                status_label=STATUS_LABELS.get(run.status, run.status),
                chip_label=CHIP_LABELS.get(run.chip, run.chip),
            )
            for run in self.rows
        ]


STATUS_LABELS = dict(RunStatus.choices)
CHIP_LABELS = dict(Chip.choices)


@dataclass(frozen=True)
class QueueRow:
    run: Run
    url: str
    created_iso: str
    created_title: str
    created_ago: str
    status_label: str
    chip_label: str


def ago(moment: datetime, now: datetime) -> str:
    """A short relative time: 'just now', '5 min ago', '3 h ago', '2 days ago', then the date."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    if days < 31:
        return f"{days} day{'s' if days != 1 else ''} ago"
    return moment.astimezone(timezone.get_current_timezone()).strftime("%b %-d, %Y")


def run_for_pane(run_id: str) -> Run:
    """The run with everything the review pane shows, in a fixed number of queries."""
    return (
        Run.objects.select_related("automation", "review", "review__updated_by", "review__promoted_example")
        .prefetch_related("files", "review__expected_files")
        .get(pk=run_id)
    )


def audit_trail(run: Run, limit: int = 50) -> list[AuditEvent]:
    return list(run.audit_events.select_related("user").order_by("-created_at", "-id")[:limit])
