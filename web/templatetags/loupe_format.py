"""Display filters shared by the sampling, backlog and dataset pages (formatting only)."""

from datetime import timedelta

from django import template

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
