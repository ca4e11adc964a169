from django.urls import path

from review import views

urlpatterns = [
    path("queue/", views.queue, name="queue"),
]
