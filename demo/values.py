"""Small value helpers of the demo data: money, IBANs, dates read the wrong way round, base64."""

import base64
from datetime import date


def money(cents: int) -> float:
    return round(cents / 100, 2)


def swap_day_month(day: date) -> date | None:
    """The date a model produces when it reads 03/07 the American way (None when impossible)."""
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month)


def iban(country: str, bban: str) -> str:
    """An IBAN with valid ISO 13616 check digits."""
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    raw = f"{country}{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
