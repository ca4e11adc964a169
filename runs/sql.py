"""Small SQL helpers shared by the services that work on batches of rows."""

import json
from datetime import UTC, date, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connection, connections, router
from django.db.models import Q, QuerySet
from django.db.models.expressions import Expression, RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def in_values(field: str, values) -> Q:
    """`field IN values` for a batch of (string) keys. On PostgreSQL the batch goes as one array
    parameter (`IN (SELECT unnest(%s))`): psycopg rewrites a query with a thousand placeholders
    on every call (long queries are not cached), which cost ~35 ms per statement per batch."""
    if isinstance(values, (Expression, QuerySet)):  # a subquery: retention's month of runs
        return Q(**{f"{field}__in": values})
    values = list(values)
    if connection.vendor == "postgresql" and len(values) > 20:
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::text[])", [values])})
    return Q(**{f"{field}__in": values})


def created_within(span: tuple | None, relation: str = "run") -> Q:
    """The `relation`'s run created in [start, end) when `span` is given, else no condition: a
    query that joins the runs of one known month then reads only that month's partition of the
    run table (runs.partitions; retention's month)."""
    if span is None:
        return Q()
    start, end = span
    return Q(**{f"{relation}__created_at__gte": start, f"{relation}__created_at__lt": end})


_COMPILED: dict[tuple[str, str], tuple] = {}
_INT_MARKER = -(10**15)  # no id, count or slot is this negative
_TIME_MARKER = datetime(2, 1, 1, tzinfo=UTC)  # year 2: no value a page asks about


def _marker(key: str, n: int, value):
    """The stand-in for the n-th value while the query compiles: of the value's type where the ORM
    converts what a lookup takes (an integer field refuses text), and equal to no real value."""
    if isinstance(value, bool):
        raise ValueError(f"compiled_once({key!r}): a boolean changes the query's text; put it in the key.")
    if isinstance(value, datetime):
        return _TIME_MARKER + timedelta(microseconds=n + 1)
    if isinstance(value, date):
        return _TIME_MARKER.date() + timedelta(days=n)
    if isinstance(value, int):
        return _INT_MARKER - n
    return f"<compiled_once {key} {n}>"


def _adapted(value):
    """A value as the ORM hands it to the driver (SQLite takes date-times and dates as text)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _slot(slots: dict, param) -> int:
    try:
        return slots.get(param, -1)
    except TypeError:  # an unhashable parameter (a list for unnest) is never a marker
        return -1


def compiled_once(key: str, build, *args) -> tuple[str, list]:
    """(SQL, parameters) of `build()`'s queryset, the SQL compiled once per database vendor and
    `key`: compiling a queryset with a dozen annotated subqueries took several times what running
    it did, on every page. Values that change go in `args` (text, integers, dates, date-times):
    `build` gets one marker per value, of its type, to put where the queryset takes it (as often
    as it needs), and each call puts the values in their markers' places among the parameters.
    What changes the query's text goes in `key`: LIMITs, booleans, how many values a list has."""
    cache_key = (connection.vendor, key)
    if cache_key not in _COMPILED:
        markers = [_marker(key, n, value) for n, value in enumerate(args)]
        slots = {}
        for n, marker in enumerate(markers):
            slots[marker] = slots[_adapted(marker)] = n
        queryset = build(*markers)
        compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        positions = tuple(_slot(slots, p) for p in params)
        if set(s for s in positions if s >= 0) != set(range(len(args))):
            raise ValueError(f"compiled_once({key!r}): every value must appear among the query's parameters.")
        columns = [expression for expression, *_ in compiler.select[:compiler.col_count]]
        _COMPILED[cache_key] = (queryset.model, sql, params, positions, queryset.query, columns)
    _, sql, params, positions, *_ = _COMPILED[cache_key]
    values = [_adapted(value) for value in args]
    return sql, [values[slot] if slot >= 0 else value for value, slot in zip(params, positions, strict=True)]


def values_once(key: str, build, *args) -> list[tuple]:
    """compiled_once's values_list query run where the router sends reads of its model (a replica
    when one is configured), its rows converted as the queryset's own would be (dates, date-times,
    booleans and JSON from SQLite's text), as a list of tuples."""
    sql, params = compiled_once(key, build, *args)
    model, *_, query, columns = _COMPILED[(connection.vendor, key)]
    alias = router.db_for_read(model)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    reader = query.get_compiler(alias)
    converters = reader.get_converters(columns)
    return [tuple(row) for row in reader.apply_converters(rows, converters)] if converters else rows


def values_over(name: str, build, ids, *values) -> list[tuple]:
    """values_once of a query over a list of ids (automations): how many there are changes the
    query's text (an IN list), so it is part of the key; `build(*value_markers, *id_markers)`.
    No ids, no query: no rows."""
    ids = list(ids)
    return values_once(f"{name}, {len(ids)} ids", build, *values, *ids) if ids else []


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
