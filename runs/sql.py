"""Small SQL helpers shared by the services that work on batches of rows."""

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL


def in_values(field: str, values) -> Q:
    """`field IN values` for a batch of (string) keys. On PostgreSQL the batch goes as one array
    parameter (`IN (SELECT unnest(%s))`): psycopg rewrites a query with a thousand placeholders
    on every call (long queries are not cached), which cost ~35 ms per statement per batch."""
    values = list(values)
    if connection.vendor == "postgresql" and len(values) > 20:
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::text[])", [values])})
    return Q(**{f"{field}__in": values})


_COMPILED: dict[tuple[str, str], tuple] = {}


def raw_once(key: str, build):
    """`build()`'s queryset run as a raw query whose SQL is compiled once per database vendor.
    For statements that never change (no request values in them): compiling a queryset with a
    dozen annotated subqueries took several times what running it did, on every page."""
    cache_key = (connection.vendor, key)
    if cache_key not in _COMPILED:
        queryset = build()
        _COMPILED[cache_key] = (queryset.model, *queryset.query.sql_with_params())
    model, sql, params = _COMPILED[cache_key]
    return model.objects.raw(sql, params)
