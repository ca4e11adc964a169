"""Display filters shared by the sampling, backlog and dataset pages (formatting only)."""

import json
from datetime import timedelta

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from runs.sampling import bp_to_percent

register = template.Library()


@register.filter
def bp(value) -> str:
    """Basis points as a rate: 1500 -> '15%', 0 -> 'off'; None -> '—'."""
    if value is None:
        return "—"
    return "off" if value == 0 else bp_to_percent(value)


@register.filter
def pct(value, digits: int = 1) -> str:
    """A fraction as a percentage: 0.9724 -> '97.2%'; None -> '—'."""
    if value is None:
        return "—"
    return f"{value * 100:.{int(digits)}f}%"


@register.filter
def duration(value) -> str:
    """A timedelta (or seconds) in the two largest units: '3 d 4 h', '12 min'; None -> '—'."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds < 60:
        return "under a minute"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@register.filter
def per_day(value) -> str:
    """A daily rate for people: 0.43 -> '0.4', 12.6 -> '13', 1234 -> '1,234'."""
    if value is None:
        return "—"
    if value < 10:
        return f"{value:.1f}".replace(".0", "") if value else "0"
    return f"{round(value):,}"


@register.filter
def json_pretty(value) -> str:
    """A JSON value indented for a <pre> (escaped by the template as usual)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


@register.filter
def page_range(count) -> range:
    """1..count, for the pages of a PDF."""
    return range(1, int(count or 0) + 1)


@register.filter
def json_short(value) -> str:
    """A value in one short line: strings bare, the rest as JSON, cut at 80 characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


@register.filter
def breakable(name) -> str:
    """A file name or path that wraps after '/', '_', '-' and '.', not in the middle of a word."""
    text = str(escape(name))
    for mark in ("/", "_", "-", "."):
        text = text.replace(mark, mark + "<wbr>")
    return mark_safe(text)
