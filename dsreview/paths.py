"""Dotted paths (focus fields, field decisions: `vendor.iban`, `lines.0.total`) and their JSON
Pointer form (review corrections: `/vendor/iban`, `/lines/0/total`); docs/dataset-reviews.md.

A dotted segment that is all digits indexes an array; a key that contains a dot cannot be
named by a dotted path (the wire has no escape for it)."""

_MISSING = object()


def split(path: str) -> list[str]:
    if not isinstance(path, str) or not path.strip():
        raise ValueError("A field path is a non-empty dotted path such as vendor.iban.")
    parts = path.strip().split(".")
    if any(part == "" for part in parts):
        raise ValueError(f"{path!r} has an empty segment; use dots between names, such as vendor.iban.")
    return parts


def to_pointer(path: str) -> str:
    """`vendor.iban` -> `/vendor/iban` (RFC 6901 escapes ~ and /)."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in split(path))


def from_pointer(pointer: str) -> str:
    """`/vendor/iban` -> `vendor.iban`; the root pointer "" has no dotted form."""
    if not pointer or not pointer.startswith("/"):
        raise ValueError("A JSON Pointer starts with '/'.")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]
    if any("." in p or p == "" for p in parts):
        raise ValueError(f"{pointer!r} has a key with a dot or an empty key: no dotted path names it.")
    return ".".join(parts)


def lookup(document, path: str):
    """The value at the dotted path, or _MISSING."""
    node = document
    for part in split(path):
        if isinstance(node, dict):
            if part not in node:
                return _MISSING
            node = node[part]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return _MISSING
            node = node[int(part)]
        else:
            return _MISSING
    return node


def exists(document, path: str) -> bool:
    return lookup(document, path) is not _MISSING


def covered(path: str, prefixes) -> bool:
    """True when `path` is one of the prefix paths or below one (ignored fields)."""
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def leaves(document, prefix: str = "") -> list[str]:
    """Every leaf's dotted path, in document order (the item page's field list)."""
    out = []
    if isinstance(document, dict) and document:
        for key, value in document.items():
            out.extend(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(document, list) and document:
        for index, value in enumerate(document):
            out.extend(leaves(value, f"{prefix}.{index}" if prefix else str(index)))
    elif prefix:
        out.append(prefix)
    return out
