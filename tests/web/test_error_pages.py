"""Styled error pages: a 404 and a 500 look like Loupe and say what to do next."""

import pytest
from django.test import Client
from django.urls import include, path

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("planted failure")


urlpatterns = [path("boom/", boom), path("", include("config.urls"))]


def test_a_missing_page_is_a_styled_404(reviewer_client, settings):
    settings.DEBUG = False
    response = reviewer_client.get("/runs/no-such-run/")
    body = response.content.decode()
    assert response.status_code == 404 and "Not found" in body and 'class="topbar"' in body


def test_a_server_error_is_a_styled_500(reviewer, settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(reviewer)
    response = client.get("/boom/")
    assert response.status_code == 500 and "Something went wrong on our side" in response.content.decode()
