"""PDF pages as PNG images, rendered on the server with PDFium (pypdfium2), so the review pane
shows the document the automation read without any browser plug-in or script, and browser tests
can see the pages too.

Bounded (docs/security.md#documents): documents over MAX_BYTES and pages past MAX_PAGES are not
rendered, the scale is capped, and every page renders in a child process (runs/pdf_worker.py)
limited to LOUPE_PDF_RENDER_MB of address space and LOUPE_PDF_RENDER_SECONDS of CPU and wall-clock
time. A page past a limit becomes a "could not render this page" image. Results (pages and
refusals) are cached by the document's hash, page and width, so a hostile page costs its limit
once, not once per view. Counting pages stays in this process: PDFium only reads the page tree
for it (no content streams), which tests/runs/test_pdf.py measures on the render bombs."""

import hashlib
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from runs.pdf_worker import MAX_BYTES, MAX_PAGES, MAX_SIDE, PdfUnreadable, encode_png, open_document, page_png

__all__ = ["MAX_BYTES", "MAX_PAGES", "MAX_SIDE", "PdfUnreadable", "Rendered", "encode_png", "page_count", "page_png",
           "placeholder_png", "render_page"]

WORKER = Path(__file__).with_name("pdf_worker.py")
CACHE_SECONDS = 24 * 3600  # a rendered page or a refusal, per document hash, page and width
TIMEOUT_CACHE_SECONDS = 600  # a page that ran out of wall-clock time
# PDFium is not thread-safe: the two uses in this process (counting pages, the placeholder image)
# take turns, so a threaded worker (gunicorn gthread, docs/deploy.md) never calls it from two
# threads at once. Rendering a document's pages happens in child processes and needs no lock.
_PDFIUM = threading.Lock()


def page_count(data: bytes) -> int:
    with _PDFIUM:
        document = open_document(data)
        try:
            return min(len(document), MAX_PAGES)
        finally:
            document.close()


@dataclass(frozen=True)
class Rendered:
    png: bytes
    ok: bool  # False: `png` is the placeholder, `reason` says why
    reason: str = ""
    seconds: float = 0.0
    peak_rss_kb: int | None = None  # the child's, when it finished
    cached: bool = False
    timed_out: bool = False  # ended by the wall clock (the page, or a busy machine)


def _limits() -> tuple[float, int]:
    return float(settings.LOUPE_PDF_RENDER_SECONDS), int(settings.LOUPE_PDF_RENDER_MB)


def _failure(returncode: int, stderr: str, seconds: float, max_mb: int) -> str:
    """Why the renderer child gave no page, from its exit status and error output."""
    if "MemoryError" in stderr or "bad_alloc" in stderr or returncode in (-6, -11):
        return f"rendering needed more than {max_mb} MB (LOUPE_PDF_RENDER_MB)"
    if returncode in (-9, -24):  # SIGKILL / SIGXCPU: the CPU limit
        return f"rendering took longer than {seconds:g} s of CPU (LOUPE_PDF_RENDER_SECONDS)"
    return f"the renderer stopped (exit status {returncode})"


def _run_worker(data: bytes, number: int, width: int) -> Rendered:
    seconds, max_mb = _limits()
    command = [sys.executable, "-I", str(WORKER), str(number), str(width), str(max_mb), str(max(1, round(seconds)))]
    started = time.perf_counter()
    try:
        # A bare environment: the child needs no secret of the web process.
        done = subprocess.run(command, input=data, capture_output=True, timeout=seconds, env={"LANG": "C.UTF-8"},
                              check=False)
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child
        reason = f"rendering took longer than {seconds:g} s (LOUPE_PDF_RENDER_SECONDS)"
        return Rendered(placeholder_png(number, reason), ok=False, reason=reason,
                        seconds=time.perf_counter() - started, timed_out=True)
    elapsed = time.perf_counter() - started
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode == 0 and done.stdout.startswith(b"\x89PNG"):
        rss = stderr.rpartition("peak_rss_kb=")[2]
        return Rendered(done.stdout, ok=True, seconds=elapsed, peak_rss_kb=int(rss) if rss.isdigit() else None)
    if done.returncode == 2:
        raise PdfUnreadable(stderr[:300] or "The PDF could not be read.")
    reason = _failure(done.returncode, stderr, seconds, max_mb)
    return Rendered(placeholder_png(number, reason), ok=False, reason=reason, seconds=elapsed)


def render_page(data: bytes, number: int, *, width: int = 1000) -> Rendered:
    """Page `number` (from 1) of `data` as PNG, `width` pixels wide (capped at MAX_SIDE), in a
    limited child process; cached. PdfUnreadable for a file that is no PDF, too large, or has no
    such page; a page past the limits is a placeholder image (ok=False)."""
    if len(data) > MAX_BYTES:
        raise PdfUnreadable(f"The PDF is larger than {MAX_BYTES // 1_048_576} MB; download it to read it.")
    width = min(max(int(width), 1), MAX_SIDE)
    key = f"pdfpage:{hashlib.sha256(data).hexdigest()}:{number}:{width}:{':'.join(map(str, _limits()))}"
    hit = cache.get(key)
    if hit is not None:
        ok, payload = hit
        if ok:
            return Rendered(payload, ok=True, cached=True)
        return Rendered(placeholder_png(number, payload), ok=False, reason=payload, cached=True)
    result = _run_worker(data, number, width)
    # A wall-clock timeout may be the machine's load, not the page: it is tried again sooner.
    ttl = TIMEOUT_CACHE_SECONDS if result.timed_out else CACHE_SECONDS
    cache.set(key, (True, result.png) if result.ok else (False, result.reason), ttl)
    return result


# -- the placeholder: a page of Loupe's own, rendered in this process (trusted, tiny) ----------


def _pdf_text_page(lines: list[str], width: int = 612, height: int = 300) -> bytes:
    def text(s: str) -> bytes:
        return s.encode("latin-1", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")

    content = b"0.95 g 0 0 %d %d re f 0.3 g " % (width, height) + b"".join(
        b"BT /F1 %d Tf 40 %d Td (%s) Tj ET " % (22 if i == 0 else 13, height - 80 - 36 * i, text(line))
        for i, line in enumerate(lines))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 5 0 R >> >> "
               b"/Contents 4 0 R >>" % (width, height),
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@lru_cache(maxsize=32)
def placeholder_png(number: int, reason: str) -> bytes:
    """A grey page saying "Could not render this page" and why, as PNG (a trusted PDF of our
    own, rendered in this process under the PDFium lock)."""
    with _PDFIUM:
        return page_png(_pdf_text_page([f"Could not render page {number}", reason[:80],
                                        "Download the file to read it."]), 1, width=800)
