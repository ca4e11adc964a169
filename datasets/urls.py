from django.urls import path

from datasets import views

urlpatterns = [
    path("datasets/", views.dataset_index, name="dataset_index"),
    path("datasets/<str:ref>/", views.dataset_detail, name="dataset_detail"),
    path("datasets/<str:ref>/export/", views.dataset_export, name="dataset_export"),
    path("datasets/<str:ref>/auto-resolve/", views.dataset_auto_resolve, name="dataset_auto_resolve"),
    path("datasets/<str:ref>/import/", views.dataset_import, name="dataset_import"),
    path("datasets/<str:ref>/examples/<str:pk>/", views.example_detail, name="example_detail"),
    path("datasets/<str:ref>/examples/<str:pk>/edit/", views.example_edit, name="example_edit"),
    path("datasets/<str:ref>/examples/<str:pk>/delete/", views.example_delete_view, name="example_delete"),
    path("datasets/<str:ref>/examples/<str:pk>/files/<path:key>/", views.example_file_download,
         name="example_file"),
]
