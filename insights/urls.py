from django.urls import path

from insights import views

urlpatterns = [
    path("backlog/", views.backlog, name="backlog"),
]
