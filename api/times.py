"""Date-time query parameters of the API: ISO-8601, or relative to now (`now()-7d`)."""

import re
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from api.support import Query, bad_request

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
