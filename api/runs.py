"""Runs as the EigenPal API serves them: the runs list, one run, its steps, trace, scores and
artifacts (docs/api-feedback.md). The list's filters and pagination are api/run_list.py, the
serialisers api/serializers.py."""

import io
import zipfile

from django.http import FileResponse, HttpRequest, HttpResponse

from api.run_list import RUN_LIST_PARAMS, RunList
from api.serializers import (
    EXPAND_SECTIONS,
    TASK_HEAVY,
    artifact_to_dict,
    run_to_dict,
    step_to_dict,
    usage_to_dict,
)
from api.support import (
    ApiError,
    Query,
    api_response,
    api_view,
    bad_request,
    get_run,
    iso,
    not_found,
)
from api.times import time_param  # noqa: F401 (api/automations.py and api/humanreviews.py import it from here)
from datasets.models import ExampleCheck
from runs.models import (
    EvaluatorScore,
    FileRole,
    Run,
    RunFile,
    RunStep,
)

# --- endpoints ---------------------------------------------------------------------------


def run_with_task(run_id: str) -> Run:
    """The run with its human review task (execution.humanReview), heavy task columns deferred."""
    run = Run.objects.select_related("automation", "human_review_task").defer(*TASK_HEAVY).filter(pk=run_id).first()
    if run is None:
        raise not_found(f"No run {run_id!r}.", field="id")
    return run


@api_view(params=RUN_LIST_PARAMS)
def runs_list(request: HttpRequest):
    return api_response(request, RunList(request.GET).page())


@api_view(params=None)
def run_start(request: HttpRequest):
    """Loupe records runs and never executes automations (docs/rules.md#scope)."""
    raise _not_executing()


def _not_executing() -> ApiError:
    return ApiError(403, "Loupe does not execute automations; it records runs that ran elsewhere.",
                    code="not_supported", hint="Record finished runs with POST /api/v1/ingest/runs.")


@api_view(params=None)
def run_rerun(request: HttpRequest, run_id: str):
    """Re-executing is executing: refused like starting a run (SDK 0.20 `client.rerun`)."""
    get_run(run_id)
    raise _not_executing()


@api_view()
def run_usage(request: HttpRequest, run_id: str):
    return api_response(request, usage_to_dict(get_run(run_id)))


@api_view()
def run_events(request: HttpRequest, run_id: str):
    """The run's events: the same lifecycle entries as its trace."""
    return api_response(request, {"events": trace_events(get_run(run_id))})


@api_view(params=("expand",))
def run_detail(request: HttpRequest, run_id: str):
    expand = set(Query(request.GET).csv("expand"))
    unknown = expand - set(EXPAND_SECTIONS)
    if unknown:
        raise bad_request("expand", f"Unknown section {sorted(unknown)[0]!r}; use {', '.join(EXPAND_SECTIONS)}.")
    return api_response(request, run_to_dict(run_with_task(run_id), expand=expand))


def check_to_eval_result(run: Run, check) -> dict:
    """EvalResult (all 13 keys): a run of a dataset example checked against the example."""
    verdict = check.verdict
    return {
        "id": f"check_{check.pk}",
        "runId": run.id,
        "evaluatorName": "loupe.example-check",
        "evaluatorType": "example",
        "createdAt": iso(check.created_at),
        "automationId": str(run.automation_id),
        "label": check.example.name,
        "description": check.summary or None,
        "error": (check.summary or "blocked") if verdict == "blocked" else None,
        "score": None if verdict == "blocked" else (1.0 if verdict == "passed" else 0.0),
        "weight": 1.0,
        "passThreshold": 1.0,
        "passed": None if verdict == "blocked" else verdict == "passed",
        "details": check.details,
    }


def evaluator_score_to_eval_result(run: Run, score: EvaluatorScore) -> dict:
    """EvalResult (all 13 keys): a score an evaluator sent with the run at ingest."""
    return {
        "id": f"score_{score.pk}",
        "runId": run.id,
        "evaluatorName": score.name,
        "evaluatorType": score.source or "external",
        "createdAt": iso(score.created_at),
        "automationId": str(run.automation_id),
        "label": score.name,
        "description": None,
        "error": None,
        "score": score.value if score.value is not None else (None if score.passed is None else float(score.passed)),
        "weight": 1.0,
        "passThreshold": None,
        "passed": score.passed,
        "details": {"source": score.source} if score.source else None,
    }


@api_view()
def run_steps(request: HttpRequest, run_id: str):
    """The run's recorded steps in the order the run took them (docs/api-reviews.md)."""
    steps = [step_to_dict(s) for s in RunStep.objects.filter(run_id=get_run(run_id).id).order_by("position")]
    return api_response(request, {"steps": steps, "total": len(steps)})


@api_view()
def run_step(request: HttpRequest, run_id: str, step_id: str):
    run = get_run(run_id)
    step = (RunStep.objects.filter(run_id=run.id, position=int(step_id)).first()
            if step_id.isdigit() and len(step_id) < 10 else None)
    if step is None:
        raise not_found(f"The run has no step {step_id!r}.", field="stepExecutionId")
    return api_response(request, step_to_dict(step))


def trace_events(run: Run) -> list[dict]:
    """The run's lifecycle as trace events, oldest first, from what Loupe recorded of it."""
    events = [{"type": "run", "phase": "created", "status": "created", "startedAt": iso(run.created_at),
               "completedAt": None, "message": f"Run recorded for {run.automation.display_name}."}]
    if run.started_at or run.completed_at:
        events.append({"type": "run", "phase": "execution", "status": run.status, "startedAt": iso(run.started_at),
                       "completedAt": iso(run.completed_at),
                       "message": run.error or f"Run {run.status}."})
    for step in RunStep.objects.filter(run_id=run.id).order_by("position"):
        events.append({"type": "step", "phase": "step", "stepName": step.name, "stepType": step.type,
                       "status": step.status, "startedAt": iso(step.started_at),
                       "completedAt": iso(step.completed_at),
                       "message": step.error or f"Step {step.name} {step.status}."})
    return events


@api_view()
def run_trace(request: HttpRequest, run_id: str):
    return api_response(request, {"events": trace_events(get_run(run_id))})


@api_view()
def run_scores(request: HttpRequest, run_id: str):
    """The run's checks against its dataset example, then the evaluator scores recorded with it."""
    run = get_run(run_id)
    checks = ExampleCheck.objects.filter(run_id=run.id).select_related("example")
    scores = [check_to_eval_result(run, check) for check in checks]
    scores += [evaluator_score_to_eval_result(run, score) for score in run.evaluator_scores.all()]
    return api_response(request, {"scores": scores})


@api_view(params=("zip",))
def artifacts_list(request: HttpRequest, run_id: str):
    run = get_run(run_id)
    files = list(run.files.all())
    if Query(request.GET).flag("zip"):
        return _artifacts_zip(run, [f for f in files if f.role == FileRole.OUTPUT])
    return api_response(request, {"artifacts": [artifact_to_dict(f) for f in files]})


def _artifacts_zip(run: Run, files: list[RunFile]) -> HttpResponse:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for run_file in files:
            with run_file.file.open("rb") as handle:
                archive.writestr(run_file.name, handle.read())
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{run.pk}-artifacts.zip"'
    return response


def _find_artifact(run: Run, path: str) -> RunFile | None:
    """`<role>/<name>` as listed, or a bare name (an output file first)."""
    role, _, name = path.partition("/")
    if name and role in FileRole.values:
        found = RunFile.objects.filter(run=run, role=role, name=name).first()
        if found:
            return found
    candidates = {f.role: f for f in RunFile.objects.filter(run=run, name=path)}
    return candidates.get(FileRole.OUTPUT) or next(iter(candidates.values()), None)


@api_view()
def artifact_download(request: HttpRequest, run_id: str, path: str):
    run_file = _find_artifact(get_run(run_id), path)
    if run_file is None:
        raise not_found(f"The run has no artifact {path!r}.", field="path")
    return FileResponse(run_file.file.open("rb"), as_attachment=True, filename=run_file.name.rsplit("/", 1)[-1],
                        content_type=run_file.content_type or "application/octet-stream")
