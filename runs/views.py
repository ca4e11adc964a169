from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404

from runs.models import RunFile


def run_file_download(request: HttpRequest, run_id: str, file_id: int) -> FileResponse:
    """A run's input/output file; `?inline=1` for previews (images, PDF), else an attachment."""
    run_file = get_object_or_404(RunFile, pk=file_id, run_id=run_id)
    inline = request.GET.get("inline") == "1"
    return FileResponse(
        run_file.file.open("rb"),
        as_attachment=not inline,
        filename=run_file.name.rsplit("/", 1)[-1],
        content_type=run_file.content_type or None,
    )
