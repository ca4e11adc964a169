from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html", {"nav": "queue"})
