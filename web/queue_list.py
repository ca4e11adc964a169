"""The queue list object (like the admin's ChangeList): the queue's filters, its pagination
links and their query strings, and the rows as the queue page shows them. The rows come from
the configured backend."""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from urllib.parse import quote, urlencode

from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from backends import get_backend
from backends.base import QueueQuery, RunInfo
from review.claims import claim_holders
from review.queries import decode_cursor, encode_cursor
from runs.chips import Chip
from runs.models import Automation
from runs.sampling import bp_to_percent
from web.forms.review import QueueFilterForm
from web.html import escape

# Query-string keys that make up a queue state (what "next in queue" follows).
STATE_KEYS = ("automation", "chip", "status", "date_from", "date_to", "expected", "promoted", "disagreement", "scope", "q")


@dataclass
class RunQueue:
    """The queue of one automation (or all of them), like the admin's ChangeList: it owns the
    filters, the pagination links and their query strings; the backend fetches the rows."""

    params: QueryDict
    page_size: int
    form: QueueFilterForm = field(init=False)

    def __post_init__(self):
        self.form = QueueFilterForm(self.params)
        self.form.is_valid()
        self.filters = {k: v for k, v in self.form.cleaned_data.items()}
        for name in self.form.errors:
            self.filters.pop(name, None)
        self.filters.setdefault("scope", "sampled")
        if not self.filters.get("chip") and not self.filters.get("q"):
            self.filters["chip"] = "unreviewed"  # reviewers land on the work still to do
        self.backend = get_backend()

    # -- automations (resolved only when a page needs them) ---------------------------------

    @cached_property
    def automations(self) -> list[Automation]:
        return self.backend.automations()

    @cached_property
    def automation(self) -> Automation | None:
        ref = self.filters.get("automation") or ""
        return next((a for a in self.automations if a.ref == ref), None) if ref else None

    @property
    def unknown_automation(self) -> bool:
        return bool(self.filters.get("automation")) and self.automation is None

    def query(self, **overrides) -> QueueQuery:
        f = self.filters
        values = dict(
            automation=self.automation, unknown_automation=self.unknown_automation,
            # A run-id search looks at every run, sampled or not.
            sampled_only=f["scope"] == "sampled" and not f.get("q"),
            chip="" if f.get("chip") in ("all", "", None) else f["chip"], status=f.get("status") or "",
            date_from=f.get("date_from"), date_to=f.get("date_to"), expected=f.get("expected") or "",
            promoted=f.get("promoted") or "", disagreement=f.get("disagreement") or "", run_id=f.get("q") or "",
            before=decode_cursor(f.get("before") or ""), after=decode_cursor(f.get("after") or ""),
            page_size=self.page_size, automations=tuple(self.__dict__.get("automations", ())),
        )
        values.update(overrides)
        return QueueQuery(**values)

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

    def options(self, name: str) -> list[tuple[str, str, bool]]:
        """(value, label, selected) for one of the filter form's selects, from what was sent
        (so an invalid combination still shows what the reviewer picked)."""
        sent = self.params.get(name, "")
        return [(str(value), label, str(value) == sent) for value, label in self.form.fields[name].choices]

    @property
    def status_options(self):
        return self.options("status")

    @property
    def expected_options(self):
        return self.options("expected")

    @property
    def promoted_options(self):
        return self.options("promoted")

    def disagreement_options(self):
        return self.options("disagreement")

    def chip_links(self) -> list[dict]:
        counts = self.chip_counts()
        current = self.filters.get("chip") or ""
        total = sum(counts.values()) if counts is not None else None
        links = [{"value": "all", "label": "All", "count": total, "current": current == "all",
                  "qs": self.querystring(chip="all")}]
        for chip in Chip:
            links.append({"value": chip.value, "label": chip.label,
                          "count": counts.get(chip.value, 0) if counts is not None else None,
                          "current": current == chip.value, "qs": self.querystring(chip=chip.value)})
        return links

    # -- reads, through the backend ----------------------------------------------------------

    @property
    def uncounted_filters(self) -> list[str]:
        """Active filters the chip counts do not follow (the counters know only automation,
        sampled and chip): the page says so rather than show counts that look filtered."""
        names = {"status": "run status", "date_from": "dates", "date_to": "dates", "expected": "has expected",
                 "promoted": "promoted", "q": "run id"}
        found = []
        for key, label in names.items():
            if self.filters.get(key) and label not in found:
                found.append(label)
        return found

    def chip_counts(self) -> dict[str, int] | None:
        """Runs per chip, or None when the backend cannot count without scanning runs."""
        if not hasattr(self, "_counts"):
            self.automations  # noqa: B018 (fetched first: the query hands them to the backend for reuse)
            self._counts = self.backend.chip_counts(self.query()) if self.backend.has_chip_counts else None
        return self._counts

    def page(self) -> "QueueScreen":
        if getattr(self, "_page", None) is None:
            self.automations  # noqa: B018 (the page shows them; the query hands them to the rows)
            page = self.backend.queue_page(self.query())
            older = self.querystring(before=encode_cursor(*page.older)) if page.older else None
            if page.newest:
                newer = self.querystring()
            else:
                newer = self.querystring(after=encode_cursor(*page.newer)) if page.newer else None
            link_qs = self.querystring()
            holders = page.holders if page.holders is not None else (
                claim_holders([row.pk for row in page.rows]) if page.rows else {})
            self._page = QueueScreen(rows=page.rows, older_qs=older, newer_qs=newer, notice=page.notice, holders=holders,
                                     link_qs="" if link_qs == "?" else link_qs, show_automation=not self.automation)
        return self._page

    def neighbour(self, run, direction: str) -> str | None:
        return self.backend.neighbour(self.query(before=None, after=None), run, direction)


@dataclass
class QueueScreen:
    rows: list
    older_qs: str | None
    newer_qs: str | None
    notice: str = ""
    link_qs: str = ""
    show_automation: bool = True
    holders: dict = field(default_factory=dict)  # run id -> who holds it (review.claims)

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
                status_label=run.status_label,
                chip_label=run.chip_label or OTHER_CHIPS.get(run.chip, ""),
                show_automation=self.show_automation,
                holder=self.holders.get(run.pk, ""),
            )
            for run in self.rows
        ]


# A run waiting for its blind second review shows this instead of its chip (docs/rules.md#double-review).
OTHER_CHIPS = {"second_review": "Second review pending"}


@dataclass(frozen=True)
class QueueRow:
    run: RunInfo
    url: str
    created_iso: str
    created_title: str
    created_ago: str
    status_label: str
    chip_label: str
    show_automation: bool = True
    holder: str = ""

    def html(self) -> SafeString:
        """The row's <tr>. Built here rather than in the template: fifty rows of template variable
        look-ups were half of the queue page's time at a million runs. Every value is escaped
        (web/html.py: what django.utils.html.escape does, without its lazy wrapper)."""
        run = self.run
        chip = (f'<span class="chip chip-{escape(run.chip)}">{escape(self.chip_label)}</span>' if run.chip
                else '<span class="muted">—</span>')
        if run.status == "waiting":  # paused for a person (docs/human-review.md): its task, not a review
            chip = (f'<a class="chip chip-waiting" href="/waiting/run/{escape(quote(run.pk, safe=""))}/" '
                    'title="Paused until a person confirms its fields: open its task">Waiting for a person</a>')
        automation = f'<td class="nowrap mono small">{escape(run.automation.ref)}</td>' if self.show_automation else ""
        holder = f' <span class="claim claim-other" title="Being reviewed">{escape(self.holder)}</span>' if self.holder else ""
        preview = escape(run.output_preview)
        run_id = escape(run.pk)
        if run.sampled and (run.stratum or run.inclusion_bp):
            # Why the run was sampled: its stratum (runs/strata.py) and the rate it was sampled at.
            reason = escape(run.stratum or "default rate")
            rate = escape(bp_to_percent(run.inclusion_bp))
            holder += (f' <span class="sampled-why small muted" title="Sampled: {reason}, at {rate}" '
                       f'data-testid="sampled-why">{reason} · {rate}</span>')
        return mark_safe(  # noqa: S308 (every interpolated value passes through escape above)
            f'<tr data-run="{run_id}"><td class="nowrap"><a class="mono" href="{escape(self.url)}" data-row-link>{run_id}</a>'
            f'</td>{automation}<td class="nowrap"><time datetime="{escape(self.created_iso)}" title="{escape(self.created_title)}">'
            f'{escape(self.created_ago)}</time></td><td><span class="badge status-{escape(run.status)}">{escape(self.status_label)}'
            f'</span></td><td>{chip}{holder}</td><td class="preview" title="{preview}">{preview or "—"}</td></tr>')



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
