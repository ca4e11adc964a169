"""The OpenAPI document lists exactly what the URL conf serves; the docs page renders it."""

import re

from api import urls as api_urls
from api.openapi import document


def served() -> set[tuple[str, str]]:
    pairs = set()
    for pattern in api_urls.urlpatterns:
        path = "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        methods = getattr(pattern.callback, "methods", {"GET": pattern.callback})
        pairs |= {(method.lower(), path) for method in methods}
    return pairs


def documented() -> set[tuple[str, str]]:
    return {(method, path) for path, methods in document()["paths"].items() for method in methods}


def test_every_served_path_and_method_is_documented():
    assert served() - documented() == set()


def test_every_documented_path_and_method_is_served():
    assert documented() - served() == set()


def test_every_operation_documents_the_error_statuses():
    for methods in document()["paths"].values():
        for operation in methods.values():
            assert {"400", "401", "403", "404", "413", "429", "500"} <= set(operation["responses"])


def test_path_parameters_match_the_url_conf():
    for path, methods in document()["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in methods.values():
            assert {p["name"] for p in operation["parameters"] if p["in"] == "path"} == names, path


def test_the_document_is_served_to_a_key(api):
    body = api.get("/api/v1/openapi.json").json()
    assert body["openapi"].startswith("3.") and "/api/v1/runs" in body["paths"]


def test_the_document_is_served_to_a_signed_in_browser(reviewer_client):
    assert reviewer_client.get("/api/v1/openapi.json").status_code == 200


def test_the_document_needs_authentication(client, db):
    assert client.get("/api/v1/openapi.json").status_code == 401


def test_the_docs_page_needs_login(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_docs_page_lists_every_endpoint(reviewer_client):
    html = reviewer_client.get("/api/v1/docs").content.decode()
    assert all(path in html for path in document()["paths"])


def test_the_docs_page_is_linked_from_the_main_nav(reviewer_client):
    html = reviewer_client.get("/api/v1/docs").content.decode()
    assert 'href="/api/v1/docs" aria-current="page"' in html
