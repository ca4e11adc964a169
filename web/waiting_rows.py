"""The Waiting inbox's rows, built in Python as the queue's are (web/queue_list.QueueRow): fifty
rows of template look-ups, `{% url %}` tags and date filters were most of the inbox page's time
(docs/human-review.md#speed). Every value passes through web.html.escape."""

from datetime import datetime
from urllib.parse import quote

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from backends.tasks import TaskRow
from web.html import escape

STATE_BADGES = {"overdue": '<span class="badge deadline-overdue">Overdue</span>',
                "due-soon": '<span class="badge deadline-soon">Due soon</span>'}


def _deadline(deadline: datetime | None, state: str, tz) -> str:
    if deadline is None:
        return '<span class="muted">—</span>'
    local = deadline.astimezone(tz)
    return (f'<time datetime="{escape(local.isoformat())}">{escape(local.strftime("%b %-d, %H:%M"))}</time>'
            + (f" {STATE_BADGES[state]}" if state in STATE_BADGES else ""))


def inbox_row(task: TaskRow, *, waiting_url: str, age: str, holder: str | None, state: str) -> SafeString:
    tz = timezone.get_current_timezone()
    pk = escape(task.id)
    created = task.created_at.astimezone(tz) if task.created_at else None
    when = (f'<time datetime="{escape(created.isoformat())}" title="{escape(created.strftime("%Y-%m-%d %H:%M %Z"))}">'
            f"{escape(age)}</time>") if created else '<span class="muted">—</span>'
    who = (f'<span class="claim claim-other">{escape(holder)}</span>' if holder
           else '<span class="muted small">free</span>')
    kind = "agent tool" if task.source_kind == "agent_tool" else "workflow step"
    return mark_safe(  # noqa: S308 (every interpolated value passes through escape above)
        f'<tr data-task="{pk}" class="{f"is-{state}" if state else ""}">'
        f'<td><a href="{escape(waiting_url + quote(task.id, safe=""))}/" class="mono">#{pk}</a> '
        f'<span class="muted small mono">{escape(task.run_id)}</span></td>'
        f'<td><a href="{escape(waiting_url)}?automation={escape(quote(task.automation_id, safe=""))}">'
        f"{escape(task.automation_name)}</a></td>"
        f'<td>{escape(task.source_label or "—")} <span class="muted small">{kind}</span></td>'
        f'<td class="num">{task.confirmed_count} / {task.required_count}</td>'
        f"<td>{when}</td><td>{_deadline(task.deadline_at, state, tz)}</td><td>{who}</td></tr>")
