from django.urls import path

from runs import views

urlpatterns = [
    path("runs/<str:run_id>/files/<path:key>/", views.run_file_download, name="run_file"),
    path("sampling/", views.sampling, name="sampling"),
    path("sampling/<str:ref>/rate/", views.sampling_rate, name="sampling_rate"),
    path("sampling/<str:ref>/threshold/", views.sampling_threshold, name="sampling_threshold"),
]
