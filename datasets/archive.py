"""Dataset ZIP archives in the layout of docs/api-feedback.md#dataset-archive.

    examples/<name>/input.json      required: the run input, files as {"$file": "input/<path>"}
    examples/<name>/input/<path>    input files
    examples/<name>/expected.json   optional: the expected output
    examples/<name>/expected/<path> expected files
    examples/<name>/meta.json       optional: {rowOrder, annotation, overrides}

Loupe also writes `metadata` and `assertions` into meta.json (when set) so an export
imported into an empty automation reproduces every example; other importers ignore them.

Archives come from users, so reading one is bounded (docs/security.md): at most
LOUPE_MAX_IMPORT_ENTRIES entries, and entries are read in chunks, counting the bytes that come
out (the sizes written in the archive's directory are not trusted), stopping past
LOUPE_MAX_IMPORT_EXPANDED_MB in total or past LOUPE_MAX_IMPORT_RATIO times the archive's size.

Entries carry a fixed timestamp and examples are written in dataset order, so exporting
the same dataset twice gives the same bytes. An archive is read and validated completely
before anything is written: a bad archive changes nothing.
"""

import io
import json
import logging
import mimetypes
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings

from datasets.checks import AssertionDefinitionError, check_definition
from datasets.models import EXAMPLE_NAME_RE, Example, ExampleFolder
from datasets.services import example_create, example_file_store, examples_delete_all
from runs import jsonbounds
from runs.files import atomic_with_files
from runs.ids import small_int

logger = logging.getLogger(__name__)

MODES = ("append", "replace")
LEGACY_ENTRIES = ("manifest.json", "input/arguments.json", "expected/output.json", "expected/error.json")
# Archive tools add these; they are not part of the dataset.
IGNORED_RE = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$)")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ANNOTATION_MAX = 2000
# The upstream cap is 500 MB for the archive itself (docs/api-feedback.md#dataset-archive).
DEFAULT_MAX_BYTES = 500 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 20_000
DEFAULT_MAX_EXPANDED_BYTES = 1024 * 1024 * 1024
DEFAULT_MAX_RATIO = 100
# Below this many expanded bytes the ratio is not checked (a few KB of zeros compress 1000:1).
RATIO_FLOOR_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 64 * 1024


class ArchiveError(ValueError):
    """The archive cannot be imported; `field` names the offending entry ("file" for the
    archive as a whole)."""

    def __init__(self, message: str, field: str = "file"):
        super().__init__(message)
        self.field = field


@dataclass
class ImportResult:
    mode: str
    created: int = 0
    expected_set: int = 0
    skipped: int = 0
    issues: list = field(default_factory=list)
    deleted: int = 0
    files_deleted: int = 0


@dataclass
class ArchivedExample:
    """One example folder, parsed and validated."""

    name: str
    input: object = None
    expected: object = None
    has_expected: bool = False
    meta: dict = field(default_factory=dict)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (folder, path, content)


# --- Export -------------------------------------------------------------------------------


def _json_bytes(value) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _meta(example: Example) -> dict:
    meta = {}
    if example.row_order is not None:
        meta["rowOrder"] = example.row_order
    if example.annotation is not None:
        meta["annotation"] = example.annotation
    if example.overrides is not None:
        meta["overrides"] = example.overrides
    if example.metadata is not None:
        meta["metadata"] = example.metadata
    if example.assertions:
        meta["assertions"] = example.assertions
    return meta


def _write(archive: zipfile.ZipFile, name: str, content: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, content)


def write_archive(examples: Iterable[Example], target) -> None:
    """Write `examples` (with their files prefetched) into the binary file `target`."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for example in examples:
            base = f"examples/{example.name}"
            _write(archive, f"{base}/input.json", _json_bytes(example.input))
            if example.expected is not None:
                _write(archive, f"{base}/expected.json", _json_bytes(example.expected))
            meta = _meta(example)
            if meta:
                _write(archive, f"{base}/meta.json", _json_bytes(meta))
            for example_file in sorted(example.files.all(), key=lambda f: (f.folder, f.path)):
                with example_file.file.open("rb") as handle:
                    _write(archive, f"{base}/{example_file.folder}/{example_file.path}", handle.read())


def examples_for_export(*, automation, example_ids=None):
    examples = Example.objects.filter(automation=automation).prefetch_related("files").order_by("row_order", "name")
    if example_ids is not None:
        examples = examples.filter(pk__in=[small_int(pk) for pk in example_ids if small_int(pk) is not None])
    return examples


def export_dataset(*, automation, example_ids=None) -> bytes:
    """The ZIP of an automation's dataset (or of the examples with these ids)."""
    buffer = io.BytesIO()
    write_archive(examples_for_export(automation=automation, example_ids=example_ids), buffer)
    return buffer.getvalue()


# --- Import -------------------------------------------------------------------------------


def _max_bytes() -> int:
    return getattr(settings, "LOUPE_MAX_IMPORT_BYTES", DEFAULT_MAX_BYTES)


def _limit(name: str, default: int) -> int:
    return getattr(settings, name, default)


def _archive_size(fileobj) -> int | None:
    size = getattr(fileobj, "size", None)
    if size is None and hasattr(fileobj, "seek"):
        fileobj.seek(0, io.SEEK_END)
        size = fileobj.tell()
        fileobj.seek(0)
    return size


def _open_zip(fileobj, size: int | None) -> zipfile.ZipFile:
    limit_mb = _max_bytes() / (1024 * 1024)
    if size is not None and size > _max_bytes():
        raise ArchiveError(f"The archive is {size / (1024 * 1024):.1f} MB; the limit is {limit_mb:g} MB.")
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ArchiveError("This file is not a ZIP archive.") from error
    max_entries = _limit("LOUPE_MAX_IMPORT_ENTRIES", DEFAULT_MAX_ENTRIES)
    if len(archive.infolist()) > max_entries:
        archive.close()
        raise ArchiveError(f"The archive has {len(archive.infolist()):,} entries; the limit is {max_entries:,}.")
    return archive


class _Budget:
    """Bytes expanded so far, against the total and ratio limits; counted as they are read."""

    def __init__(self, archive_size: int | None):
        self.used = 0
        self.total = _limit("LOUPE_MAX_IMPORT_EXPANDED_BYTES", DEFAULT_MAX_EXPANDED_BYTES)
        ratio = _limit("LOUPE_MAX_IMPORT_RATIO", DEFAULT_MAX_RATIO)
        self.by_ratio = max(RATIO_FLOOR_BYTES, ratio * archive_size) if archive_size else None
        self.ratio = ratio

    def take(self, count: int, entry: str) -> None:
        self.used += count
        if self.used > self.total:
            raise ArchiveError(f"The archive expands to more than {self.total / (1024 * 1024):g} MB "
                               f"(stopped reading at {entry}).", field=entry)
        if self.by_ratio is not None and self.used > self.by_ratio:
            raise ArchiveError(f"The archive expands to more than {self.ratio} times its own size "
                               f"(stopped reading at {entry}); it looks like a ZIP bomb.", field=entry)


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    chunks = []
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(CHUNK_BYTES):
                budget.take(len(chunk), info.filename)
                chunks.append(chunk)
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        raise ArchiveError(f"{info.filename} is damaged in the archive ({error}); nothing was imported.",
                           field=info.filename) from error
    except NotImplementedError as error:
        raise ArchiveError(f"{info.filename} uses a compression method Loupe cannot read ({error}).",
                           field=info.filename) from error
    except RuntimeError as error:  # encrypted entries
        raise ArchiveError(f"{info.filename} cannot be read: {error}.", field=info.filename) from error
    content = b"".join(chunks)
    if len(content) != info.file_size:
        raise ArchiveError(f"{info.filename} is damaged in the archive: its directory says {info.file_size:,} bytes "
                           f"but it holds {len(content):,}; nothing was imported.", field=info.filename)
    return content


def _safe_parts(name: str) -> list[str]:
    """The path segments of one entry; zip-slip and odd names are refused."""
    parts = name.split("/")
    if (
        "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or re.match(r"^[A-Za-z]:", name)
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise ArchiveError(f"Unsafe path in the archive: {name!r}.", field=name)
    return parts


def _check_layout(names: list[str]) -> None:
    legacy = [name for name in names if name in LEGACY_ENTRIES]
    if legacy:
        raise ArchiveError(
            f"This archive uses the legacy layout ({legacy[0]} at the top). Export it again in the current "
            "layout: one folder per example, examples/<name>/input.json, expected.json, meta.json.",
        )
    if names and not any(name.startswith("examples/") for name in names):
        raise ArchiveError("No examples/ folder at the top of the archive: expected examples/<name>/input.json.")


def _parse_json(raw: bytes, entry: str):
    try:
        return jsonbounds.loads(raw.decode("utf-8"))
    except jsonbounds.JsonRefused as error:
        raise ArchiveError(f"{entry}: {error}", field=entry) from None
    except (UnicodeDecodeError, ValueError) as error:
        raise ArchiveError(f"{entry} is not valid JSON: {error}.", field=entry) from error


def _check_meta(meta, entry: str) -> dict:
    if not isinstance(meta, dict):
        raise ArchiveError(f"{entry} must be a JSON object.", field=entry)
    problem = _meta_field_problem(meta)
    if problem:
        raise ArchiveError(f"{entry}: {problem}", field=entry)
    # Shapes are kept as exported; only what would be unsafe to evaluate is refused.
    for index, assertion in enumerate(meta.get("assertions", [])):
        try:
            check_definition(assertion.get("condition") if isinstance(assertion, dict) else None)
        except AssertionDefinitionError as error:
            raise ArchiveError(f"{entry}: assertion {index + 1}: {error}", field=entry) from None
    return meta


def _row_order_ok(row_order) -> bool:
    if row_order is None:
        return True
    return isinstance(row_order, int) and not isinstance(row_order, bool) and 0 <= row_order <= 2**31 - 1


def _meta_field_problem(meta: dict) -> str | None:
    """What is wrong with one of meta.json's fields, or None."""
    if not _row_order_ok(meta.get("rowOrder")):
        return f"rowOrder must be a whole number from 0 to {2**31 - 1}."
    annotation = meta.get("annotation")
    if not (annotation is None or (isinstance(annotation, str) and len(annotation) <= ANNOTATION_MAX)):
        return f"annotation must be text of at most {ANNOTATION_MAX} characters."
    for key in ("overrides", "metadata"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            return f"{key} must be a JSON object."
    if not isinstance(meta.get("assertions", []), list):
        return "assertions must be a list."
    return None


def _add_entry(example: ArchivedExample, rest: list[str], raw: bytes, entry: str) -> None:
    if rest == ["input.json"]:
        value = _parse_json(raw, entry)
        if value is not None and not isinstance(value, dict):
            raise ArchiveError(f"{entry} must be a JSON object keyed by input argument name.", field=entry)
        example.input = value
    elif rest == ["expected.json"]:
        example.expected, example.has_expected = _parse_json(raw, entry), True
    elif rest == ["meta.json"]:
        example.meta = _check_meta(_parse_json(raw, entry), entry)
    elif len(rest) >= 2 and rest[0] in ExampleFolder.values:
        example.files.append((rest[0], "/".join(rest[1:]), raw))
    else:
        raise ArchiveError(
            f"Unexpected entry {entry}: an example folder holds input.json, expected.json, meta.json, "
            "input/ and expected/.",
            field=entry,
        )


def _example_parts(filename: str) -> list[str]:
    """examples/<name>/<rest…> of an entry, its name checked."""
    parts = _safe_parts(filename)
    if parts[0] != "examples" or len(parts) < 3:
        raise ArchiveError(f"Unexpected entry {filename}: everything lives in examples/<name>/.", field=filename)
    if not EXAMPLE_NAME_RE.match(parts[1]):
        raise ArchiveError(
            f"Folder examples/{parts[1]}/: example names use 1-128 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit.",
            field=f"examples/{parts[1]}",
        )
    return parts


def read_archive(fileobj) -> list[ArchivedExample]:
    """Parse and validate a whole archive; raises ArchiveError on the first problem."""
    size = _archive_size(fileobj)
    budget = _Budget(size)
    with _open_zip(fileobj, size) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and not IGNORED_RE.search(i.filename)]
        for info in infos:
            _safe_parts(info.filename)
        _check_layout([info.filename for info in infos])
        examples: dict[str, ArchivedExample] = {}
        seen_input = set()
        for info in infos:
            parts = _example_parts(info.filename)
            name = parts[1]
            example = examples.setdefault(name, ArchivedExample(name=name))
            _add_entry(example, parts[2:], _read_entry(archive, info, budget), info.filename)
            if parts[2:] == ["input.json"]:
                seen_input.add(name)
    for name in examples:
        if name not in seen_input:
            raise ArchiveError(f"examples/{name}/input.json is missing (it is required).",
                               field=f"examples/{name}/input.json")
    return list(examples.values())


def _file_refs(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        if isinstance(value.get("$file"), str) and len(value) == 1:
            found.add(value["$file"])
        for item in value.values():
            _file_refs(item, found)
    elif isinstance(value, list):
        for item in value:
            _file_refs(item, found)
    return found


def _missing_refs(example: ArchivedExample) -> list[dict]:
    present = {f"{folder}/{path}" for folder, path, _ in example.files}
    refs = _file_refs(example.input, set()) | _file_refs(example.expected, set())
    return [
        {"severity": "warning", "example": example.name, "message": f"{ref} is referenced but not in the archive."}
        for ref in sorted(refs - present)
    ]


def _create(automation, parsed: ArchivedExample, user) -> Example:
    meta = parsed.meta
    example = example_create(
        automation=automation, name=parsed.name, user=user, input=parsed.input,
        expected=parsed.expected if parsed.has_expected else None,
        metadata=meta.get("metadata"), annotation=meta.get("annotation"), row_order=meta.get("rowOrder"),
        overrides=meta.get("overrides"), assertions=meta.get("assertions", []),
    )
    for folder, path, content in parsed.files:
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        example_file_store(example=example, folder=folder, path=path, content=content, content_type=content_type)
    return example


def apply_import(*, automation, examples: Iterable[ArchivedExample], mode: str = "append", user=None,
                 on_example: Callable[[ArchivedExample], None] | None = None) -> ImportResult:
    """Write parsed examples. append: names already in the dataset are skipped (an issue
    each); replace: the dataset is emptied first. All or nothing."""
    if mode not in MODES:
        raise ArchiveError("The import mode is append or replace.", field="mode")
    result = ImportResult(mode=mode)
    with atomic_with_files():  # all or nothing, files included (a full disk leaves none behind)
        if mode == "replace":
            result.deleted, result.files_deleted = examples_delete_all(automation=automation)
        existing = set(Example.objects.filter(automation=automation).values_list("name", flat=True))
        for parsed in examples:
            if parsed.name in existing:
                result.skipped += 1
                result.issues.append({"severity": "warning", "example": parsed.name,
                                      "message": "An example with this name already exists; skipped."})
            else:
                _create(automation, parsed, user)
                existing.add(parsed.name)
                result.created += 1
                result.expected_set += int(parsed.has_expected and parsed.expected is not None)
                result.issues.extend(_missing_refs(parsed))
            if on_example:
                on_example(parsed)
    logger.info("dataset import into %s by %s: %s", automation, getattr(user, "username", None), result)
    return result


def import_dataset(*, automation, fileobj, mode: str = "append", user=None) -> ImportResult:
    """Import a dataset ZIP into `automation`; raises ArchiveError for a bad archive."""
    if mode not in MODES:
        raise ArchiveError("The import mode is append or replace.", field="mode")
    return apply_import(automation=automation, examples=read_archive(fileobj), mode=mode, user=user)
