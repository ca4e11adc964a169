"""Logging: one request id per request on every log line, and an opt-in JSON format
(LOUPE_LOG_FORMAT=json; docs/deploy.md#health-and-logs).

The request id is the one the API's error envelope shows (`requestId`, header `x-request-id`,
api/support.py): config.middleware.RequestIdMiddleware takes it (the caller's X-Request-Id when
sane, else a new one) before any view, keeps it in a context variable for the request's thread,
and sets `x-request-id` on every response.
"""

import contextvars
import json
import logging
from datetime import UTC, datetime

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("loupe_request_id", default="")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
# `request` (Django puts the request object on its records) is left out: its id is the requestId.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "requestId", "request"}


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on each record as `requestId` ("" outside a request). Django
    logs a 4xx/5xx (`django.request`) after the middleware has returned, with the request on the
    record: its id is read from there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "requestId", ""):
            request = getattr(record, "request", None)
            record.requestId = getattr(request, "api_request_id", "") or REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, requestId, the record's extra
    fields, and the traceback as `exception` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "requestId": getattr(record, "requestId", "") or REQUEST_ID.get(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(log_format: str, level: str) -> dict:
    """The LOGGING setting: console output, plain text (the message, as before) or JSON lines."""
    formatter = {"()": "config.logs.JsonFormatter"} if log_format == "json" else {"format": "%(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.logs.RequestIdFilter"}},
        "formatters": {"loupe": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "loupe", "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": level},
    }
