"""A corrected file the item page could not save yet (a stale item, a refused path, the upstream
down) is kept staged, so the reviewer sends the form again without choosing the file again
(docs/dataset-reviews.md#corrected-files-from-the-item-page). The bytes go to the file store under
`dataset-reviews/staged/`; the page carries a signed token naming them, the user and the item, and
valid for a day. Sending it again uses and deletes them; choosing another file replaces them."""

import secrets
from dataclasses import dataclass

from django.core import signing

from dsreview.models import DatasetReviewFile
from runs.files import FULL_ERRNOS, BadFileName, safe_relative_path

SALT = "loupe.dsreview.staged"
MAX_AGE = 24 * 3600
PREFIX = "dataset-reviews/staged"


@dataclass
class Staged:
    token: str
    name: str  # in the file store
    filename: str
    content_type: str
    size: int

    def read(self) -> bytes:
        with _storage().open(self.name, "rb") as handle:
            return handle.read()


def _storage():
    return DatasetReviewFile._meta.get_field("file").storage


def stage(*, content: bytes, filename: str, content_type: str, user_id, item_key: str) -> Staged | None:
    """Keep `content`; None when the file store cannot (full, or failing): the page then asks
    for the file again."""
    from django.core.files.base import ContentFile

    try:
        safe = safe_relative_path(filename).replace("/", "__")
    except BadFileName:
        safe = "upload"
    try:
        name = _storage().save(f"{PREFIX}/{secrets.token_hex(8)}/{safe}", ContentFile(content))
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            return None
        raise
    token = signing.dumps({"n": name, "f": filename, "t": content_type, "s": len(content), "u": str(user_id),
                           "i": item_key}, salt=SALT)
    return Staged(token=token, name=name, filename=filename, content_type=content_type, size=len(content))


def staged(token: str, *, user_id, item_key: str) -> Staged | None:
    """The staged file of this token, when it is this user's for this item and not expired."""
    if not token:
        return None
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if data.get("u") != str(user_id) or data.get("i") != item_key or not str(data.get("n", "")).startswith(PREFIX):
        return None
    if not _storage().exists(data["n"]):
        return None
    return Staged(token=token, name=data["n"], filename=data["f"], content_type=data["t"], size=data["s"])


def discard(entry: Staged | None) -> None:
    if entry is not None:
        _storage().delete(entry.name)
