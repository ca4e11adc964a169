"""The HTML pages, one module per screen (docs/architecture.md)."""

from django.urls import path

from web import backlog, datasets, queue, run_pane, sampling

urlpatterns = [
    path("queue/", queue.queue, name="queue"),
    path("runs/<str:run_id>/", run_pane.run_detail, name="run_detail"),
    path("runs/<str:run_id>/editor/", run_pane.run_editor, name="run_editor"),
    path("runs/<str:run_id>/verdict/", run_pane.run_verdict, name="run_verdict"),
    path("runs/<str:run_id>/status/", run_pane.run_status, name="run_status"),
    path("runs/<str:run_id>/correct/", run_pane.run_correct, name="run_correct"),
    path("runs/<str:run_id>/promote/", run_pane.run_promote, name="run_promote"),
    path("runs/<str:run_id>/expected/upload/", run_pane.expected_upload, name="expected_upload"),
    path("runs/<str:run_id>/expected/copy/", run_pane.expected_copy, name="expected_copy"),
    path("runs/<str:run_id>/expected/rename/", run_pane.expected_rename, name="expected_rename"),
    path("runs/<str:run_id>/expected/delete/", run_pane.expected_delete, name="expected_delete"),
    path("runs/<str:run_id>/previous/", run_pane.run_step, {"direction": "previous"}, name="run_previous"),
    path("runs/<str:run_id>/next/", run_pane.run_step, {"direction": "next"}, name="run_next"),
    path("runs/<str:run_id>/expected-files/<path:key>/", run_pane.expected_download, name="expected_file"),
    path("runs/<str:run_id>/files/<path:key>/", run_pane.run_file_download, name="run_file"),
    path("sampling/", sampling.sampling, name="sampling"),
    path("sampling/<str:ref>/rate/", sampling.sampling_rate, name="sampling_rate"),
    path("sampling/<str:ref>/threshold/", sampling.sampling_threshold, name="sampling_threshold"),
    path("datasets/", datasets.dataset_index, name="dataset_index"),
    path("datasets/<str:ref>/", datasets.dataset_detail, name="dataset_detail"),
    path("datasets/<str:ref>/export/", datasets.dataset_export, name="dataset_export"),
    path("datasets/<str:ref>/auto-resolve/", datasets.dataset_auto_resolve, name="dataset_auto_resolve"),
    path("datasets/<str:ref>/import/", datasets.dataset_import, name="dataset_import"),
    path("datasets/<str:ref>/examples/<str:pk>/", datasets.example_detail, name="example_detail"),
    path("datasets/<str:ref>/examples/<str:pk>/edit/", datasets.example_edit, name="example_edit"),
    path("datasets/<str:ref>/examples/<str:pk>/delete/", datasets.example_delete_view, name="example_delete"),
    path("datasets/<str:ref>/examples/<str:pk>/files/<path:key>/", datasets.example_file_download,
         name="example_file"),
    path("backlog/", backlog.backlog, name="backlog"),
]
