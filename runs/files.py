"""File names that users and clients send: one sanitising rule for every upload path."""

import mimetypes
import posixpath
import re
import secrets

from django.db import transaction

_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


class BadFileName(ValueError):
    pass


def safe_relative_path(name: str, *, max_length: int = 500) -> str:
    """Normalise a client-supplied file name or slash path; refuse traversal and absolute paths."""
    if name is None or not str(name).strip():
        raise BadFileName("The file name is empty.")
    name = str(name).strip()
    if _BAD_CHARS.search(name):
        raise BadFileName("The file name contains control characters or backslashes.")
    if name.startswith("/"):
        raise BadFileName("The file name must be relative, not start with '/'.")
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
        return "image"
    if lower.endswith(".json") or content_type == "application/json":
        return "json"
    if lower.endswith(".csv") or content_type == "text/csv":
        return "csv"
    if content_type == "application/pdf":
        return "pdf"
    if content_type.startswith("text/") or lower.endswith((".txt", ".md", ".log", ".xml", ".yaml", ".yml")):
        return "text"
    return "none"


def download_response(download, *, inline: bool = False):
    """A streamed response for a backend's FileDownload: an attachment, or inline for previews.
    Content types that could run script in Loupe's origin are always served as attachments."""
    from django.http import StreamingHttpResponse
    from django.utils.http import content_disposition_header

    content_type = download.content_type or guess_content_type(download.filename)
    if inline and preview_kind(download.filename, content_type) not in ("image", "pdf", "json", "csv", "text"):
        inline = False
    if "html" in content_type or "svg" in content_type or "javascript" in content_type:
        inline = False
    response = StreamingHttpResponse(download.chunks, content_type=content_type)
    if download.size is not None:
        response["Content-Length"] = str(download.size)
    response["Content-Disposition"] = content_disposition_header(not inline, download.filename)
    response["X-Content-Type-Options"] = "nosniff"
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


def store_file(row, *, replaces, name: str, content):
    """Save `content` (bytes or a File) as `row.file` and save the row; `replaces` (a row of the
    same kind, or None) is deleted, its stored file once the transaction commits. One rule for
    run files, expected files and example files: the slash path is flattened into the stored
    name, never trusted. A replacement never reuses the stored name of the file it replaces, so
    a storage that overwrites (S3) cannot lose the old bytes of a rolled-back replace, and the
    deferred delete cannot hit the new ones."""
    from django.core.files.base import ContentFile

    stored_name = name.replace("/", "__")
    with transaction.atomic():
        if replaces is not None:
            if row.file.field.generate_filename(row, stored_name) == replaces.file.name:
                stored_name = f"{secrets.token_hex(4)}__{stored_name}"
            files_delete_on_commit([replaces.file])
            replaces.delete()
        if isinstance(content, bytes):
            content = ContentFile(content)
        row.size = content.size
        row.file.save(stored_name, content, save=False)
        row.save()
    return row
