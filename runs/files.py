"""File names that users and clients send: one sanitising rule for every upload path."""

import errno
import logging
import mimetypes
import posixpath
import re
import secrets
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

logger = logging.getLogger("loupe.files")

_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


class BadFileName(ValueError):
    pass


class StorageFull(Exception):
    """The file store has no space left (ENOSPC, EDQUOT). Nothing of the write is kept: the
    storage removed its partial file (runs.storage.LocalStorage) and atomic_with_files the
    files stored before it in the same transaction. Pages and the API answer 507."""


FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# The files stored inside each atomic_with_files block now open (innermost last).
_stored_in: ContextVar[tuple[list, ...]] = ContextVar("loupe_files_stored_in", default=())


@contextmanager
def atomic_with_files():
    """transaction.atomic() whose files go with its rows: a file stored inside the block
    (store_file, store_file_bytes) is deleted again when the block rolls back, so a failed
    upload, the disk full on its third file, leaves neither rows nor files behind."""
    written: list = []
    token = _stored_in.set((*_stored_in.get(), written))
    try:
        with transaction.atomic():
            yield
    except BaseException:
        for storage, name in written:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                logger.warning("Could not delete %s after a rolled-back upload.", name, exc_info=True)
        raise
    finally:
        _stored_in.reset(token)


def _name_problem(name: str) -> str | None:
    if not name:
        return "The file name is empty."
    if _BAD_CHARS.search(name):
        return "The file name contains control characters or backslashes."
    if name.startswith("/"):
        return "The file name must be relative, not start with '/'."
    return None


def safe_relative_path(name: str, *, max_length: int = 500) -> str:
    """Normalise a client-supplied file name or slash path; refuse traversal and absolute paths."""
    name = "" if name is None else str(name).strip()
    problem = _name_problem(name)
    if problem:
        raise BadFileName(problem)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise BadFileName("The file name may not contain '..'.")
    cleaned = posixpath.join(*parts)
    if len(cleaned) > max_length:
        raise BadFileName(f"The file name is longer than {max_length} characters.")
    return cleaned


def guess_content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def preview_kind(name: str, content_type: str = "") -> str:
    """How the review pane previews a file: image, json, csv, text, pdf or none."""
    content_type = content_type or guess_content_type(name)
    lower = name.lower()
    if content_type.startswith("image/"):
        # SVG can run script: never previewed, only downloaded (docs/security.md).
        return "image" if content_type.split(";")[0].strip().lower() in INLINE_IMAGE_TYPES else "none"
    for kind, endings, types in _PREVIEWS:
        if lower.endswith(endings) or content_type in types:
            return kind
    return "text" if content_type.startswith("text/") else "none"


# (preview, file name endings, content types), in the order they are tried.
_PREVIEWS = (("json", (".json",), ("application/json",)), ("csv", (".csv",), ("text/csv",)),
             ("pdf", (), ("application/pdf",)), ("text", (".txt", ".md", ".log", ".xml", ".yaml", ".yml"), ()))


# Shown inline in Loupe's origin: only types a browser renders without running script
# (docs/security.md). SVG is an image that runs script, so it is not here.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"})
# Every file response carries this policy: even a file a browser did render could run nothing,
# load nothing and is framed only by Loupe's own pages (the PDF preview).
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"


def inline_content_type(filename: str, content_type: str) -> str | None:
    """The Content-Type to show a file inline with, or None when it may only be downloaded.
    Text-like previews (text, JSON, CSV, XML, …) are sent as text/plain, whatever was declared."""
    declared = (content_type or guess_content_type(filename)).split(";")[0].strip().lower()
    if declared in INLINE_IMAGE_TYPES or declared == "application/pdf":
        return declared
    kind = preview_kind(filename, declared)
    if kind in ("text", "json", "csv"):
        return "text/plain; charset=utf-8"
    return None


def _could_be_active(content_type: str) -> bool:
    lowered = content_type.lower()
    return lowered.startswith("text/") or any(word in lowered for word in ("html", "xml", "svg", "script", "xsl"))


def download_response(download, *, inline: bool = False):
    """A streamed response for a backend's FileDownload: an attachment, or inline for previews.
    Files are user content: only types that cannot run script are ever shown inline; every
    other file is an attachment with a neutral type, and all of them are sandboxed (FILE_CSP)."""
    from django.http import StreamingHttpResponse
    from django.utils.http import content_disposition_header

    declared = download.content_type or guess_content_type(download.filename)
    shown_as = inline_content_type(download.filename, declared)
    inline = inline and shown_as is not None
    if inline:
        content_type = shown_as
    elif _could_be_active(declared):
        content_type = "application/octet-stream"
    else:
        content_type = declared  # a ZIP or PNG downloaded keeps its type
    response = StreamingHttpResponse(download.chunks, content_type=content_type)
    if download.size is not None:
        response["Content-Length"] = str(download.size)
    response["Content-Disposition"] = content_disposition_header(not inline, download.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    return response


def files_delete_on_commit(field_files) -> None:
    """Delete these stored files once the transaction in progress commits (at once outside one).

    Every delete of a row with a file goes through here: if the transaction rolls back, the row
    comes back and so must its bytes. A failed storage delete is logged, not raised: the commit
    has happened and the row is gone either way."""
    pending = [(f.storage, f.name) for f in field_files if f and f.name]
    if not pending:
        return

    def delete():
        for storage, name in pending:
            storage.delete(name)

    transaction.on_commit(delete, robust=True)


def free_name(taken, name: str) -> str:
    """`name`, or `stem-2.ext`, `stem-3.ext`… when `taken` already holds that name."""
    taken = set(taken)
    if name not in taken:
        return name
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.rpartition(".") if "." in base.lstrip(".") else (base, "", "")
    for number in range(2, 10_000):
        candidate = f"{folder + '/' if folder else ''}{stem}-{number}{dot}{ext}"
        if candidate not in taken:
            return candidate
    return name


def store_file(row, *, replaces, name: str, content):
    """Save `content` (bytes or a File) as `row.file` and save the row; `replaces` (a row of the
    same kind, or None) is deleted, its stored file once the transaction commits. One rule for
    run files, expected files and example files: the slash path is flattened into the stored
    name, never trusted. A replacement never reuses the stored name of the file it replaces, so
    a storage that overwrites (S3) cannot lose the old bytes of a rolled-back replace, and the
    deferred delete cannot hit the new ones."""
    with atomic_with_files():
        if replaces is not None:
            files_delete_on_commit([replaces.file])
            replaces.delete()
        store_file_bytes(row, replaces=replaces, name=name, content=content)
        row.save()
    return row


def store_file_bytes(row, *, replaces, name: str, content) -> None:
    """store_file's naming and writing, without saving the row (callers that insert rows in
    bulk): the slash path flattened into the stored name, never the stored name of `replaces`."""
    from django.core.files.base import ContentFile

    stored_name = name.replace("/", "__")
    if replaces is not None and row.file.field.generate_filename(row, stored_name) == replaces.file.name:
        stored_name = f"{secrets.token_hex(4)}__{stored_name}"
    if isinstance(content, bytes):
        content = ContentFile(content)
    row.size = content.size
    try:
        row.file.save(stored_name, content, save=False)
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            raise StorageFull(f"The file store is full ({exc.strerror}).") from exc
        raise
    for written in _stored_in.get():
        written.append((row.file.storage, row.file.name))
