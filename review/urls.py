from django.urls import path

from review import views

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("runs/<str:run_id>/", views.run_detail, name="run_detail"),
    path("runs/<str:run_id>/editor/", views.run_editor, name="run_editor"),
    path("runs/<str:run_id>/verdict/", views.run_verdict, name="run_verdict"),
    path("runs/<str:run_id>/status/", views.run_status, name="run_status"),
    path("runs/<str:run_id>/correct/", views.run_correct, name="run_correct"),
    path("runs/<str:run_id>/promote/", views.run_promote, name="run_promote"),
    path("runs/<str:run_id>/expected/upload/", views.expected_upload, name="expected_upload"),
    path("runs/<str:run_id>/expected/copy/", views.expected_copy, name="expected_copy"),
    path("runs/<str:run_id>/expected/rename/", views.expected_rename, name="expected_rename"),
    path("runs/<str:run_id>/expected/delete/", views.expected_delete, name="expected_delete"),
    path("runs/<str:run_id>/previous/", views.run_step, {"direction": "previous"}, name="run_previous"),
    path("runs/<str:run_id>/next/", views.run_step, {"direction": "next"}, name="run_next"),
    path("runs/<str:run_id>/expected-files/<path:key>/", views.expected_download, name="expected_file"),
]
