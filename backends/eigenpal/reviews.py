"""Proxy mode: run and expected files, the audit trail, review writes, expected files, promotion."""


import time

import httpx

from backends.base import (
    MAX_SCORES,
    BackendError,
    ChangeRefused,
    FileDownload,
    FileInfo,
    PromoteResult,
    ReviewConflict,
    ReviewInfo,
    RunInfo,
    ScoreInfo,
)
from backends.eigenpal.client import file_path, seg
from review.models import AuditEvent
from review.queries import audit_trail
from runs.files import BadFileName, free_name, guess_content_type, safe_relative_path


class ReviewsMixin:
    """Mixed into EigenpalBackend (backends/eigenpal/__init__.py)."""

    def _stream(self, path: str, name: str) -> FileDownload:
        return self._streamed(self.upstream.request("GET", path, stream=True), name)

    def _streamed(self, response: httpx.Response, name: str) -> FileDownload:
        def chunks():
            # Bounded as it streams (backends/eigenpal/client.py): size as sent and expanded, time.
            try:
                yield from self.upstream.body_chunks(response, time.perf_counter(), name, download=True)
            finally:
                response.close()

        length = response.headers.get("content-length", "")
        return FileDownload(chunks=chunks(), filename=name.rsplit("/", 1)[-1],
                            content_type=response.headers.get("content-type", "").split(";")[0].strip(),
                            size=int(length) if length.isdigit() and "content-encoding" not in response.headers
                            else None)

    def run_file(self, run_id: str, key: str) -> FileDownload:
        return self._stream(f"/runs/{seg(run_id)}/artifacts/{file_path(key)}", key)

    def expected_file(self, run_id: str, key: str) -> FileDownload:
        return self._stream(self.dialect().expected_path(run_id, key), key)

    def read_head(self, run: RunInfo, file: FileInfo, limit: int, *, expected: bool = False) -> bytes:
        download = self.expected_file(run.id, file.key) if expected else self.run_file(run.id, file.key)
        data = bytearray()
        try:
            for chunk in download.chunks:
                data.extend(chunk)
                if len(data) >= limit:
                    break
        finally:
            download.chunks.close()
        return bytes(data[:limit])

    def run_scores(self, run_id: str) -> list[ScoreInfo]:
        """GET {prefix}/runs/{id}/scores (both generations answer {"scores": [EvalResult]});
        Loupe's own example checks (evaluatorType "example") are left to the checks block."""
        data = self.upstream.json("GET", f"/runs/{seg(run_id)}/scores") or {}
        rows = data.get("scores") if isinstance(data, dict) else data
        scores = []
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict) or row.get("evaluatorType") == "example":
                continue
            value, passed = row.get("score"), row.get("passed")
            details = row.get("details") if isinstance(row.get("details"), dict) else {}
            source = details.get("source") or row.get("evaluatorType") or ""
            scores.append(ScoreInfo(
                name=str(row.get("evaluatorName") or row.get("label") or "?")[:100],
                value=float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None,
                passed=passed if isinstance(passed, bool) else None,
                source=str(source)[:100]))
            if len(scores) >= MAX_SCORES:
                break
        return scores

    def audit_trail(self, run_id: str, limit: int = 50) -> list:
        return audit_trail(run_id, limit)

    # -- writes ----------------------------------------------------------------------------------

    def _audit(self, run_id: str, user, action: str, changes: dict) -> None:
        AuditEvent.objects.create(run_id=run_id, user=user if getattr(user, "pk", None) else None,
                                  via=AuditEvent.Via.WEB, action=action, changes=changes)

    def review_update(self, *, run: RunInfo, changes: dict, user, base_version: int | None, action: str) -> None:
        current = run.review or ReviewInfo()
        if base_version is not None and base_version != current.version:
            raise ReviewConflict(current)
        diff = {}
        for name, new in changes.items():
            new = "" if name == "body" and new is None else new
            old = getattr(current, name)
            if old != new:
                diff[name] = [old, new]
        if not diff:
            return
        try:
            self.dialect().put_review(self.upstream, run.id, {name: changes[name] for name in diff},
                                      {"rating": current.rating, "status": current.status, "body": current.body,
                                       "expected": current.expected, "files": [f.name for f in current.expected_files],
                                       "wire": current.wire} if run.review else None)
        except BackendError as exc:
            if exc.status != 412:  # 412: the upstream's review changed since it was read (If-Match)
                raise
            raise ReviewConflict(self.run(run.id).review or ReviewInfo()) from None
        self._audit(run.id, user, action, diff)

    @staticmethod
    def _clean(name: str) -> str:
        try:
            return safe_relative_path(name)
        except BadFileName as exc:
            raise ChangeRefused(str(exc), field="name") from None

    @staticmethod
    def _free(run: RunInfo, name: str) -> str:
        """Never overwrite from the pages (backends/base.py): a free name chosen from the files
        the run was read with; the upstream has no lock to choose it again under."""
        return free_name((f.name for f in (run.review.expected_files if run.review else [])), name)

    def expected_file_upload(self, *, run: RunInfo, upload, name: str | None, user) -> str:
        clean = self._free(run, self._clean(name or getattr(upload, "name", "") or "file"))
        content = upload.read()  # bounded by LOUPE_MAX_UPLOAD_BYTES (ExpectedUploadForm)
        content_type = getattr(upload, "content_type", "") or guess_content_type(clean)
        # Idempotent: the upstream replaces a file of the same name, so a retry lands the same state.
        data = self.upstream.json("POST", self.dialect().expected_path(run.id), data={"name": clean},
                                  files={"file": (clean.rsplit("/", 1)[-1], content, content_type)},
                                  idempotent=True) or {}
        stored = data.get("name") or clean
        self._audit(run.id, user, "expected_file:upload", {"size": len(content), "name": stored})
        return stored

    def expected_file_copy(self, *, run: RunInfo, output_name: str, expected_name: str | None, user) -> str:
        body = {"outputFileName": output_name}
        if expected_name:
            body["expectedName"] = self._free(run, self._clean(expected_name))
        data = self.upstream.json("POST", self.dialect().expected_path(run.id), json=body, idempotent=True) or {}
        stored = data.get("name") or body.get("expectedName") or output_name
        self._audit(run.id, user, "expected_file:copy", {"from": output_name, "name": stored})
        return stored

    def expected_file_rename(self, *, run: RunInfo, name: str, new_name: str, user) -> str:
        clean = self._clean(new_name)
        # Not idempotent: a repeated rename after a timeout would find no file of the old name.
        data = self.upstream.json("PATCH", self.dialect().expected_path(run.id, name), json={"name": clean}) or {}
        stored = data.get("name") or clean
        self._audit(run.id, user, "expected_file:rename", {"from": name, "name": stored})
        return stored

    def expected_file_delete(self, *, run: RunInfo, name: str, user) -> str:
        self.upstream.request("DELETE", self.dialect().expected_path(run.id, name))
        self._audit(run.id, user, "expected_file:delete", {"name": name})
        return name

    def promote(self, *, run: RunInfo, name: str, user, replace_other: bool = True,
                base_version: int | None = None) -> PromoteResult:
        # replace_other is not checked upstream: the API has no lookup by name that is cheap and
        # race-free, so proxy mode keeps the contract's upsert (docs/security.md).
        # An upsert by name upstream (docs/api-feedback.md#promote), so retrying it is safe.
        data = self.upstream.json("POST", f"/runs/{seg(run.id)}/promote", json={"name": name}, idempotent=True) or {}
        result = PromoteResult(example_id=str(data.get("exampleId") or ""), name=data.get("name") or name)
        old = run.review.promoted_example_name if run.review else None
        self._audit(run.id, user, "promote", {"promoted_example_name": [old, result.name],
                                              "has_expected": bool(run.review and run.review.expected is not None),
                                              "example_id": result.example_id})
        return result

    # -- datasets --------------------------------------------------------------------------------
