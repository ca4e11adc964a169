"""PDF pages as PNG images with PDFium (pypdfium2, pinned in requirements.txt), and the child
process that renders one page for runs/pdf.py: it limits its own address space and CPU time
before PDFium is loaded, reads the PDF on stdin and writes the PNG on stdout. A hostile page that
needs more ends this process, not the web worker (docs/security.md#documents).

    python -I runs/pdf_worker.py <page> <width> <max-mb> <cpu-seconds>   < document.pdf > page.png

Exit 0 with the PNG (and `peak_rss_kb=…` on stderr); 2 with a message on stderr for a PDF that
cannot be read or has no such page; anything else (a signal, MemoryError, the CPU limit) means
the page was past the limits. Imports nothing of Loupe's: it runs with `-I`, outside the project."""

import os
import resource
import struct
import sys
import zlib

MAX_BYTES = 20 * 1024 * 1024
MAX_PAGES = 50
MAX_SIDE = 2000  # pixels


class PdfUnreadable(ValueError):
    """Not a PDF PDFium can open, too large, or no such page."""


def open_document(data: bytes):
    import pypdfium2 as pdfium

    if len(data) > MAX_BYTES:
        raise PdfUnreadable(f"The PDF is larger than {MAX_BYTES // 1_048_576} MB; download it to read it.")
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PdfUnreadable(f"The PDF could not be read ({exc}).") from None


def encode_png(width: int, height: int, rgb: bytes, stride: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + rgb[y * stride: y * stride + width * 3] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def page_png(data: bytes, number: int, *, width: int = 1000) -> bytes:
    """Page `number` (from 1) rendered `width` pixels wide (capped), as PNG bytes. In this
    process, unbounded in time: runs.pdf.render_page runs it in a limited child."""
    document = open_document(data)
    try:
        if not 1 <= number <= min(len(document), MAX_PAGES):
            raise PdfUnreadable(f"The PDF has no page {number}.")
        page = document[number - 1]
        page_width, page_height = page.get_size()
        scale = min(max(width, 1), MAX_SIDE) / max(page_width, 1)
        scale = min(scale, MAX_SIDE / max(page_height, 1))
        bitmap = page.render(scale=scale, rev_byteorder=True)  # RGB order, 3 channels
        try:
            return encode_png(bitmap.width, bitmap.height, bytes(bitmap.buffer), bitmap.stride)
        finally:
            bitmap.close()
            page.close()
    finally:
        document.close()


def _limit(max_mb: int, cpu_seconds: int) -> None:
    limit = max_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(10)  # a render gives way to the web workers' own requests (the sign-in page)


def _peak_rss_kb() -> int:
    """This process's peak resident size (VmHWM: unlike ru_maxrss, not inherited over exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main(argv: list[str]) -> int:
    number, width, max_mb, cpu_seconds = (int(a) for a in argv[1:5])
    _limit(max_mb, cpu_seconds)
    data = sys.stdin.buffer.read()
    try:
        png = page_png(data, number, width=width)
    except PdfUnreadable as exc:
        sys.stderr.write(str(exc))
        return 2
    sys.stdout.buffer.write(png)
    sys.stderr.write(f"peak_rss_kb={_peak_rss_kb()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
