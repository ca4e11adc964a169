"""API fuzzing: schemathesis generates requests for every operation of /api/v1/openapi.json
(valid and invalid cases, both of schemathesis' generation modes: odd strings, huge numbers,
wrong types, unicode, NUL bytes) with a fixed seed; no answer may be a server error, and every
answer must be the one the document describes (schemathesis' status code, content type and
response schema checks, and tests/openapi_conformance.py through tests/api/conftest.py). Runs
once, on SQLite (marker `fuzz`: bin/test leaves it out of the PostgreSQL pass), through the WSGI
application in this process; the database holds an automation, runs, a review and an example so
that paths can reach real rows.

    .venv/bin/python -m pytest -m fuzz            # about 1-3 minutes
    LOUPE_FUZZ_EXAMPLES=500 .venv/bin/python -m pytest -m fuzz   # longer, same seed
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiKey
from api.openapi import document
from datasets.models import Example
from datasets.services import example_file_store
from review.services import expected_file_upload, review_update
from runs.services import run_file_store
from tests.factories import make_automation, make_run

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("LOUPE_FUZZ_EXAMPLES", "50"))
SEED = 20261125
STATUSES: dict[int, int] = {}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(fuzz_key, settings):
    from django.core.wsgi import get_wsgi_application

    settings.LOUPE_API_RATE_LIMIT = 0
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(),
                                          headers={"Authorization": f"Bearer {fuzz_key}"})


@pytest.fixture
def fuzz_world(django_user_model) -> dict:
    """Rows the fuzzed paths can reach: a run with a file, a review and an expected file, an
    example with a file, and a key of a user holding every role."""
    from django.contrib.auth.models import Group
    from django.core.files.uploadedfile import SimpleUploadedFile

    user = django_user_model.objects.create_user("fuzz", password="pw", is_superuser=True)
    for role in ("reviewer", "lead", "ops"):
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    automation = make_automation("workflows.extract-invoice")
    runs = [make_run(automation) for _ in range(3)]
    run_file_store(run_id=runs[0].pk, name="out.csv", role="output", content=b"a,b\n1,2\n", content_type="text/csv")
    review_update(run=runs[0], changes={"rating": "fail", "status": "open", "expected": {"total": 1}}, user=user)
    expected_file_upload(run=runs[0], upload=SimpleUploadedFile("fixed.csv", b"a,b\n1,3\n"), name=None, user=user)
    example = Example.objects.create(automation=automation, name="inv-1", input={"a": 1}, expected={"b": 2})
    example_file_store(example=example, folder="input", path="doc.txt", content=b"hi", content_type="text/plain")
    from dsreview.services import review_create  # a dataset review request of that example, open

    dataset_review = review_create(automation=automation, user=user, title="fuzz", example_names=["inv-1"],
                                   status="open")
    return {"key": ApiKey.issue(user=user, name="fuzz")[1],
            "paths": {"run_id": runs[0].pk, "automation_id": automation.ref, "example_id": str(example.pk),
                      "folder": "input", "path": "doc.txt", "filename": "fixed.csv",
                      "review_id": str(dataset_review.pk), "item_id": str(dataset_review.items.get().pk)}}


@pytest.fixture
def fuzz_key(fuzz_world) -> str:
    return fuzz_world["key"]


OPERATIONS = [(path, method.upper()) for path, item in document()["paths"].items()
              for method in item if method in ("get", "post", "put", "patch", "delete")]


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_no_operation_answers_a_server_error_or_an_undocumented_answer(api_schema, fuzz_world, path, method):
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {fuzz_world['key']}"}
    names = {parameter["name"] for parameter in document()["paths"][path][method.lower()].get("parameters", [])
             if parameter.get("in") == "path"}
    real = {name: value for name, value in fuzz_world["paths"].items() if name in names}
    # Half the cases address the rows above (so bodies and filters reach the handlers), half
    # generate the path too; each both valid and invalid.
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode, path_parameters=real) for mode in modes]
    strategies += [operation.as_strategy(generation_mode=mode) for mode in modes] if real else []

    @seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(*strategies))
    def fuzz(case):
        response = case.call(headers={**(case.headers or {}), **headers})
        STATUSES[response.status_code] = STATUSES.get(response.status_code, 0) + 1
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} answered {response.status_code}: {response.text[:300]}\n"
            f"reproduce: {case.as_curl_command()}")
        case.validate_response(response, checks=CHECKS)

    fuzz()
    print(method, path, sorted(STATUSES.items()))
    STATUSES.clear()


def test_the_fuzzed_document_is_the_served_one():
    assert document()["paths"], "no operations to fuzz"
