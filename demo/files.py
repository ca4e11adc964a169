"""Small, valid files for the demo, built by hand: no PDF or imaging library needed.

`pdf_document()` writes a one-page PDF 1.4 (Helvetica/Courier, WinAnsi text, a correct
xref table), `png_bar_chart()` a truecolour PNG (zlib + struct), `csv_text()` a CSV.
"""

import csv
import io
import struct
import zlib

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
FONTS = {"F1": "Helvetica", "F2": "Helvetica-Bold", "F3": "Courier"}


def _pdf_text(text: str) -> bytes:
    # WinAnsiEncoding is close to cp1252 (it has € and the Latin-1 letters).
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def pdf_document(lines: list[tuple[str, int, str]], *, title: str) -> bytes:
    """A one-page PDF. `lines` are (font key F1/F2/F3, size, text), laid out top to bottom."""
    content = [b"BT"]
    y = PAGE_HEIGHT - 60
    for font, size, text in lines:
        if font not in FONTS:  # a line given as (text, size, font) drew the key instead of the text
            raise ValueError(f"font key {font!r} is not one of {', '.join(FONTS)}: lines are (font key, size, text)")
        content.append(b"/%s %d Tf 1 0 0 1 50 %d Tm (%s) Tj" % (font.encode(), size, y, _pdf_text(text)))
        y -= int(size * 1.45)
        if y < 40:
            break
    content.append(b"ET")
    stream = b"\n".join(content)
    font_refs = b" ".join(b"/%s %d 0 R" % (key.encode(), 4 + i) for i, key in enumerate(FONTS))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << %s >> >> /Contents %d 0 R >>"
        % (PAGE_WIDTH, PAGE_HEIGHT, font_refs, 4 + len(FONTS)),
        *[
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>" % name.encode()
            for name in FONTS.values()
        ],
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Title (%s) /Producer (Loupe demo generator) >>" % _pdf_text(title),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, len(objects), xref_at,
    )
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_image(width: int, height: int, rows: list[bytes]) -> bytes:
    """A truecolour PNG from `height` rows of `width * 3` RGB bytes."""
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


def _paint(pixels: list[bytearray], ys: range, x0: int, bar: int, colour: bytes) -> None:
    """One bar: rows `ys` (those inside the image) from column x0, `bar` pixels wide."""
    for y in ys:
        if 0 <= y < len(pixels):
            pixels[y][x0 * 3 : (x0 + bar) * 3] = colour * bar


def png_bar_chart(values: list[float], *, width: int = 360, height: int = 160) -> bytes:
    """Bars for `values` around a zero line (blue above, red below), e.g. a running balance."""
    white, grey, blue, red = b"\xff\xff\xff", b"\xc8\xcc\xd2", b"\x2f\x6f\xd8", b"\xd0\x45\x3a"
    pixels = [bytearray(white * width) for _ in range(height)]
    values = values or [0.0]
    top, bottom = max(max(values), 0.0), min(min(values), 0.0)
    span = (top - bottom) or 1.0
    margin = 8
    usable = height - 2 * margin
    zero_y = margin + int(usable * top / span)
    for x in range(width):
        pixels[min(zero_y, height - 1)][x * 3 : x * 3 + 3] = grey
    slot = (width - 2 * margin) / len(values)
    bar = max(1, int(slot * 0.7))
    for i, value in enumerate(values):
        x0 = margin + int(i * slot)
        bar_height = int(usable * abs(value) / span)
        ys = range(zero_y - bar_height, zero_y) if value >= 0 else range(zero_y + 1, zero_y + 1 + bar_height)
        _paint(pixels, ys, x0, bar, blue if value >= 0 else red)
    return png_image(width, height, [bytes(row) for row in pixels])


def csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
