"""Hostile documents, generated (no binary fixtures): PDF render bombs written by hand, and the
CSV / JSON / e-mail preview bombs of issue 17 (docs/security.md#documents)."""


def pdf(objects: list[bytes], *, media=(612, 792)) -> bytes:
    """A one-page PDF: objects 1-3 are the catalog, page tree and page; `objects` are 4 (the
    page's content stream), 5 (its resources), then any others, with a correct xref table."""
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    every = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
             b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources 5 0 R /Contents 4 0 R >>" % media,
             *objects]
    for number, body in enumerate(every, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(every) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(every) + 1, xref)
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def plain_pdf() -> bytes:
    return pdf([stream(b"0 0 m 600 700 l S"), b"<< >>"])


def nested_forms_pdf(depth: int = 20, fan: int = 2) -> bytes:
    """Form XObject k draws form k+1 `fan` times: fan ** depth drawings from a few KB (the time
    and memory bomb of issue 17: a worker held until gunicorn killed it)."""
    objects = [stream(b"/X0 Do"), b"<< /XObject << /X0 6 0 R >> >>"]
    for level in range(depth):
        if level < depth - 1:
            body = b" ".join(b"q 1 0 0 1 %d 0 cm /X Do Q" % i for i in range(fan))
            resources = b"/Resources << /XObject << /X %d 0 R >> >>" % (6 + level + 1)
        else:
            body, resources = b"0 0 m 600 700 l S", b""
        objects.append(stream(body, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] " + resources))
    return pdf(objects)


def huge_page_pdf(side: int = 14400) -> bytes:
    """A page 200 inches square (PDF's largest): the scale cap keeps the image small."""
    return pdf([stream(b"0 0 m %d %d l S" % (side, side)), b"<< >>"], media=(side, side))


def big_image_pdf(side: int = 20000, expanded_mb: int = 100) -> bytes:
    """An image of side x side pixels whose Flate stream expands to `expanded_mb` MB."""
    import zlib

    raw = zlib.compress(b"\x00" * (expanded_mb * 1024 * 1024), 9)
    return pdf([stream(b"q 612 0 0 792 0 0 cm /Im Do Q"), b"<< /XObject << /Im 6 0 R >> >>",
                stream(raw, b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                            b"/BitsPerComponent 8 /Filter /FlateDecode" % (side, side))])


# -- preview bombs ------------------------------------------------------------------------------


def csv_big_cell(kb: int = 200) -> bytes:
    return b"name,notes\nalpha," + b"x" * (kb * 1024) + b"\nbeta,short\n"


def csv_wide(columns: int = 20_000) -> bytes:
    return (",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" * columns) + "\n").encode()


def json_deep(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


def eml(headers: bytes, body: bytes = b"Hello.\r\n") -> bytes:
    return headers + b"Subject: hostile\r\n\r\n" + body


def email_nested_comments(depth: int = 20_000) -> bytes:
    return eml(b"From: " + b"(" * depth + b"x" + b")" * depth + b" <a@example.com>\r\nTo: b@example.com\r\n")


def email_empty_groups(count: int = 80_000) -> bytes:
    return eml(b"From: a@example.com\r\nTo: " + b"g:;," * count + b"b@example.com\r\n")


def email_many_addresses(count: int = 60_000) -> bytes:
    return eml(b"From: a@example.com\r\nTo: " + b", ".join(b"user%d@example.com" % i for i in range(count)) + b"\r\n")
