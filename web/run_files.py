"""A run's files as the review pane shows them: downloads of its input/output and expected files
(inline for previews), and its PDF pages as PNGs rendered by the bounded child (runs.pdf)."""

import re

from django.http import HttpRequest, HttpResponse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from backends import get_backend
from runs import pdf
from runs.files import download_response
from web.backend_errors import backend_errors
from web.panes import pdf_page_response


@require_GET
@xframe_options_sameorigin  # the review pane previews PDFs in an iframe of its own origin
@backend_errors
def run_file_download(request: HttpRequest, run_id: str, key: str) -> HttpResponse:
    """A run's input/output file; `?inline=1` for previews (images, PDF), else an attachment."""
    return download_response(get_backend().run_file(run_id, key), inline=request.GET.get("inline") == "1")


@require_GET
@xframe_options_sameorigin  # the review pane previews PDFs in an iframe of its own origin
@backend_errors
def expected_download(request: HttpRequest, run_id: str, key: str) -> HttpResponse:
    return download_response(get_backend().expected_file(run_id, key), inline=request.GET.get("inline") == "1")


def _read_at_most(download, limit: int) -> bytes | None:
    """A download's bytes, or None once they pass `limit` (the stream is then left unread)."""
    data = bytearray()
    try:
        if download.size is not None and download.size > limit:
            return None
        for chunk in download.chunks:
            data.extend(chunk)
            if len(data) > limit:
                return None
    finally:
        close = getattr(download.chunks, "close", None)
        if close is not None:
            close()
    return bytes(data)


_WIDTH = re.compile(r"[0-9]{1,5}")


@require_GET
@backend_errors
def run_file_page(request: HttpRequest, run_id: str, key: str, number: int) -> HttpResponse:
    """Page `number` of a run's PDF file as a PNG (runs.pdf: a limited child process, cached),
    for the pane's source column; `?w=` pixels wide (1-2000). A page past the limits is a
    "could not render this page" image; a file that is no PDF, too large or without that page a 404."""
    raw_width = request.GET.get("w", "1000")
    if not _WIDTH.fullmatch(raw_width) or not 1 <= int(raw_width) <= pdf.MAX_SIDE:
        return HttpResponse(f"w: the width must be a whole number of pixels from 1 to {pdf.MAX_SIDE}.", status=400,
                            content_type="text/plain; charset=utf-8")
    return pdf_page_response(_read_at_most(get_backend().run_file(run_id, key), pdf.MAX_BYTES), number,
                             int(raw_width))
