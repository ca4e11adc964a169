"""Proxy mode: datasets and examples."""



from backends.base import (
    BackendError,
    ChangeRefused,
    ExampleInfo,
    ExamplePage,
    FileDownload,
    FileInfo,
    NotFound,
)
from backends.eigenpal.client import file_path, seg
from backends.eigenpal.wire import DATASET_COUNTS, parse_time
from datasets.archive import ImportResult
from datasets.compare import ExampleRun
from runs.models import Automation

# ImportResult's counts and the wire's names for them.
IMPORT_COUNTS = {"created": "created", "expected_set": "expectedSet", "skipped": "skipped", "deleted": "deleted",
                 "files_deleted": "filesDeleted"}
# Proxy comparisons fetch each run's output with one call, so fewer runs than locally.
PROXY_COMPARE_RUNS = 10


class DatasetsMixin:
    """Mixed into EigenpalBackend (backends/eigenpal/__init__.py)."""

    def _examples_path(self, automation: Automation, example_id: str | None = None) -> str:
        path = f"/automations/{seg(automation.remote_id or automation.ref)}/examples"
        return f"{path}/{seg(example_id)}" if example_id is not None else path

    def datasets(self) -> list[tuple[Automation, int | None]]:
        """One count call per automation (`limit=1` reads the total), for the first
        DATASET_COUNTS automations; the rest show no count."""
        rows = []
        for n, automation in enumerate(self.automations()):
            count = None
            if n < DATASET_COUNTS:
                data = self.upstream.json("GET", self._examples_path(automation), params={"limit": 1, "offset": 0})
                count = (data or {}).get("total")
            rows.append((automation, count))
        return rows

    def _example_info(self, item: dict, *, detail: bool = False) -> ExampleInfo:
        metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        files = [FileInfo(key=f"expected/{f['name']}", name=f["name"], role="expected")
                 for f in item.get("expectedFiles") or [] if isinstance(f, dict) and f.get("name")]
        info = ExampleInfo(
            id=str(item.get("id")), name=item.get("name") or "", annotation=item.get("annotation"),
            has_expected=item.get("expected") is not None, n_files=len(files),
            source_run_id=metadata.get("sourceRunId"), created_at=parse_time(item.get("createdAt")),
            updated_at=parse_time(item.get("updatedAt")), row_order=item.get("rowOrder"),
            promoted_by=metadata.get("promotedBy") or "", metadata=item.get("metadata"), files=files)
        if detail:
            info.input, info.expected = item.get("input"), item.get("expected")
        return info

    def examples_page(self, automation: Automation, number: int, page_size: int) -> ExamplePage:
        data = self.upstream.json("GET", self._examples_path(automation),
                                  params={"limit": page_size, "offset": (number - 1) * page_size}) or {}
        rows = [self._example_info(item) for item in data.get("data") or [] if isinstance(item, dict)]
        return ExamplePage(rows=rows, number=number, count=data.get("total") or 0, page_size=page_size)

    def example(self, automation: Automation, example_id: str) -> ExampleInfo:
        """Two calls: the example (with its expected files) and the list of its input files."""
        path = self._examples_path(automation, example_id)
        info = self._example_info(self.upstream.json("GET", path) or {}, detail=True)
        inputs = (self.upstream.json("GET", f"{path}/input") or {}).get("files") or []
        info.files = [FileInfo(key=f"input/{name}", name=name, role="input") for name in inputs] + info.files
        info.n_files = len(info.files)
        return info

    def example_runs(self, automation: Automation, example: ExampleInfo, limit: int) -> tuple[object, list]:
        """1 + runs + 1 calls: the run list filtered by exampleId, each run's output (the list has
        none), and the source run's output."""
        limit = min(limit, PROXY_COMPARE_RUNS)
        data = self.upstream.json("GET", "/runs", params={"exampleId": example.id, "limit": limit}) or {}
        runs = []
        for item in [r for r in data.get("runs") or [] if isinstance(r, dict) and r.get("id")][:limit]:
            detail = self.upstream.json("GET", f"/runs/{seg(item['id'])}") or {}
            timing, source = detail.get("timing") or {}, detail.get("source") or {}
            status = (detail.get("execution") or {}).get("status") or ("completed" if detail.get("finished") else "running")
            created = parse_time(timing.get("createdAt"))
            if created is not None:
                runs.append(ExampleRun(item["id"], source.get("version"), created, status, detail.get("output")))
        original = None
        if example.source_run_id:
            try:
                original = (self.upstream.json("GET", f"/runs/{seg(example.source_run_id)}") or {}).get("output")
            except NotFound:
                original = None
        return original, runs

    def example_rerun(self, *, automation: Automation, example: ExampleInfo, user) -> str:
        try:
            data = self.upstream.json("POST", f"{self._examples_path(automation, example.id)}/run", json={})
        except BackendError as failed:
            if failed.status in (403, 405, 501):
                raise ChangeRefused(
                    f"The EigenPal API does not execute runs of this example (it answered HTTP {failed.status}). "
                    f"Run it where the automation runs, with exampleId {example.id}: the run joins this "
                    "comparison.", status=failed.status) from None
            raise
        data = data or {}
        return str(data.get("runId") or data.get("id") or (data.get("run") or {}).get("id") or "")

    def example_create(self, *, automation: Automation, fields: dict, user) -> str:
        fields = dict(fields)
        if fields.pop("assertions", None):
            raise ChangeRefused("The EigenPal API keeps no assertions: in proxy mode examples are checked against "
                                "their expected output upstream. Leave this empty.", field="assertions")
        data = self.upstream.json("POST", self._examples_path(automation), json=fields, idempotent=True)
        return str((data or {}).get("id"))

    def example_update(self, *, automation: Automation, example: ExampleInfo, changes: dict, user) -> None:
        changes = dict(changes)
        if changes.pop("assertions", None):
            raise ChangeRefused("The EigenPal API keeps no assertions: in proxy mode examples are checked against "
                                "their expected output upstream. Leave this empty.", field="assertions")
        self.upstream.json("PATCH", self._examples_path(automation, example.id), json=changes, idempotent=True)

    def example_delete(self, *, automation: Automation, example: ExampleInfo, user) -> None:
        self.upstream.request("DELETE", self._examples_path(automation, example.id))

    def example_file(self, automation: Automation, example_id: str, key: str) -> FileDownload:
        folder, _, path = key.partition("/")
        if folder not in ("input", "expected") or not path:
            raise NotFound("No such file in this example.")
        return self._stream(f"{self._examples_path(automation, example_id)}/{folder}/{file_path(path)}", path)

    def dataset_export(self, automation: Automation, example_ids: list[str] | None) -> FileDownload:
        params = {"exampleIds": ",".join(example_ids)} if example_ids else None
        response = self.upstream.request("GET", f"/automations/{seg(automation.remote_id or automation.ref)}"
                                                "/dataset/export", params=params, stream=True)
        download = self._streamed(response, f"{automation.ref}-dataset.zip")
        download.content_type = download.content_type or "application/zip"
        return download

    def dataset_import(self, *, automation: Automation, upload, mode: str, user):
        content = upload.read()
        data = self.upstream.json(
            "POST", f"/automations/{seg(automation.remote_id or automation.ref)}/dataset/import",
            data={"mode": mode}, files={"file": (getattr(upload, "name", None) or "dataset.zip", content,
                                                 "application/zip")}) or {}
        # Not retried on timeouts: "append" may already have created examples upstream.
        counts = {field: data.get(wire) or 0 for field, wire in IMPORT_COUNTS.items()}
        return ImportResult(mode=data.get("mode") or mode,
                            issues=[i for i in data.get("issues") or [] if isinstance(i, dict)], **counts)
