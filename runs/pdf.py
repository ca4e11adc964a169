"""PDF pages as PNG images, rendered on the server with PDFium (pypdfium2, pinned in
requirements.txt), so the review pane shows the document the automation read without any
browser plug-in or script, and browser tests can see the pages too.

Bounded: documents over MAX_BYTES and pages past MAX_PAGES are not rendered, and the scale is
capped, so a hostile PDF cannot make a huge image."""

import struct
import zlib

import pypdfium2 as pdfium

MAX_BYTES = 20 * 1024 * 1024
MAX_PAGES = 50
MAX_SIDE = 2000  # pixels


class PdfUnreadable(ValueError):
    """Not a PDF PDFium can open, too large, or no such page."""


def _open(data: bytes) -> pdfium.PdfDocument:
    if len(data) > MAX_BYTES:
        raise PdfUnreadable(f"The PDF is larger than {MAX_BYTES // 1_048_576} MB; download it to read it.")
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PdfUnreadable(f"The PDF could not be read ({exc}).") from None


def page_count(data: bytes) -> int:
    document = _open(data)
    try:
        return min(len(document), MAX_PAGES)
    finally:
        document.close()


def _png(width: int, height: int, rgb: bytes, stride: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + rgb[y * stride: y * stride + width * 3] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def page_png(data: bytes, number: int, *, width: int = 1000) -> bytes:
    """Page `number` (from 1) rendered `width` pixels wide (capped), as PNG bytes."""
    document = _open(data)
    try:
        if not 1 <= number <= min(len(document), MAX_PAGES):
            raise PdfUnreadable(f"The PDF has no page {number}.")
        page = document[number - 1]
        page_width, page_height = page.get_size()
        scale = min(width, MAX_SIDE) / max(page_width, 1)
        scale = min(scale, MAX_SIDE / max(page_height, 1))
        bitmap = page.render(scale=scale, rev_byteorder=True)  # RGB order, 3 channels
        try:
            return _png(bitmap.width, bitmap.height, bytes(bitmap.buffer), bitmap.stride)
        finally:
            bitmap.close()
            page.close()
    finally:
        document.close()
