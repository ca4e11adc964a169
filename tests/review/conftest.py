"""The `backend` fixture runs a reviewer-flow test twice: against Loupe's own database (local)
and in proxy mode, where the pages talk real HTTP to a live Loupe serving its API (pytest-django's
live_server) with the data the test made. In proxy mode both sides share the test database, so
assertions on models check what the upstream stored."""

import re

import pytest

from tests.proxy import proxy_settings


@pytest.fixture(params=["local", pytest.param("eigenpal", marks=pytest.mark.django_db(transaction=True))])
def backend(request, settings) -> str:
    if request.param == "eigenpal":
        proxy_settings(settings, request.getfixturevalue("live_server").url)
    return request.param


def pane_version(client, run_id: str) -> int:
    """The review version the pane's forms carry (a counter locally, a digest in proxy mode)."""
    body = client.get(f"/runs/{run_id}/").content.decode()
    return int(re.search(r'data-version="(\d+)"', body).group(1))
