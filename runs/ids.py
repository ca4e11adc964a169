"""Identifiers that come from clients: run ids and numeric keys (docs/security.md).

A run id is 1-100 characters from A-Z a-z 0-9 . _ : - and does not start with '.', '-' or ':',
so every run has a URL of its own (no '/', no dot segments, nothing to escape). Numeric keys
(database ids in URLs and filters) are ASCII digits that fit a 64-bit integer: str.isdigit()
also accepts '²' and '٣', which int() refuses or reads differently."""

import re

RUN_ID_MAX = 100
RUN_ID_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:-]{0,99}")
RUN_ID_RULE = ("1-100 characters from A-Z, a-z, 0-9, '.', '_', ':' and '-', not starting with '.', '-' or ':'")
BIGINT_MAX = 2**63 - 1


def run_id_problem(value) -> str | None:
    """Why `value` is not a valid run id, or None."""
    if not isinstance(value, str) or not value:
        return "required, a non-empty string."
    if len(value) > RUN_ID_MAX:
        return f"longer than {RUN_ID_MAX} characters."
    if not RUN_ID_RE.fullmatch(value):
        return f"{value[:120]!r} is not a valid run id: use {RUN_ID_RULE}."
    return None


def small_int(text) -> int | None:
    """The integer written in `text` when it is plain ASCII digits within a signed 64-bit
    range, else None."""
    text = str(text).strip() if text is not None else ""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= BIGINT_MAX else None
