"""Small SQL helpers shared by the services that work on batches of rows."""

import json
from datetime import UTC

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def in_values(field: str, values) -> Q:
    """`field IN values` for a batch of (string) keys. On PostgreSQL the batch goes as one array
    parameter (`IN (SELECT unnest(%s))`): psycopg rewrites a query with a thousand placeholders
    on every call (long queries are not cached), which cost ~35 ms per statement per batch."""
    values = list(values)
    if connection.vendor == "postgresql" and len(values) > 20:
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::text[])", [values])})
    return Q(**{f"{field}__in": values})


_COMPILED: dict[tuple[str, str], tuple] = {}


def compiled_once(key: str, build, *args) -> tuple[str, list]:
    """(SQL, parameters) of `build()`'s queryset, the SQL compiled once per database vendor and
    `key`: compiling a queryset with a dozen annotated subqueries took several times what running
    it did, on every page. Values that change go in `args`: `build` gets one marker per value
    where the queryset takes it (as often as it needs), and each call puts the values in their
    markers' places among the parameters (LIMITs are part of the text: put them in `key`)."""
    cache_key = (connection.vendor, key)
    if cache_key not in _COMPILED:
        markers = {f"<compiled_once {key} {n}>": n for n in range(len(args))}
        queryset = build(*markers)
        sql, params = queryset.query.sql_with_params()
        slots = tuple(markers.get(p, -1) if isinstance(p, str) else -1 for p in params)
        if set(s for s in slots if s >= 0) != set(range(len(args))):
            raise ValueError(f"compiled_once({key!r}): every value must appear among the query's parameters.")
        _COMPILED[cache_key] = (queryset.model, sql, params, slots)
    _, sql, params, slots = _COMPILED[cache_key]
    return sql, [args[slot] if slot >= 0 else value for value, slot in zip(params, slots, strict=True)]


def raw_once(key: str, build, *args, datetimes: tuple[str, ...] = ()) -> list:
    """compiled_once's query run as the queryset's model's raw query, as a list. Columns of
    annotations come back without field converters (SQLite: dates as text): name the date-time
    ones in `datetimes` and they are converted here (db_datetime)."""
    sql, params = compiled_once(key, build, *args)
    rows = list(_COMPILED[(connection.vendor, key)][0].objects.raw(sql, params))
    for row in rows:
        for name in datetimes:
            setattr(row, name, db_datetime(getattr(row, name)))
    return rows


def db_json(value):
    """A JSON value a query returned without its field's converter (SQLite hands back a JSON
    column, or a json_object() row, as its text)."""
    return json.loads(value) if isinstance(value, str) else value


def db_row(value, *, datetimes: tuple[str, ...] = (), json_columns: tuple[str, ...] = ()) -> dict | None:
    """A row a query built as one JSON object (JSONObject in a subquery), its date-time and JSON
    members converted (db_datetime, db_json); None stays None."""
    row = db_json(value)
    if row is None:
        return None
    return {**row, **{k: db_datetime(row.get(k)) for k in datetimes}, **{k: db_json(row.get(k)) for k in json_columns}}


def db_datetime(value):
    """A date-time a query returned without its field's converter: an aware datetime as it is;
    text (SQLite's UTC text, or ISO 8601 inside JSON) parsed, naive read as UTC; None stays None."""
    if isinstance(value, str):
        value = parse_datetime(value.replace(" ", "T", 1))
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
    return value
