from django.urls import path

from runs import views

urlpatterns = [
    path("runs/<str:run_id>/files/<int:file_id>/", views.run_file_download, name="run_file"),
]
