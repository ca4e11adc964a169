import pytest

from dsreview.services import review_create
from tests.dsreview.helpers import make_examples, make_lead
from tests.factories import make_automation


@pytest.fixture
def automation(db):
    return make_automation()


@pytest.fixture
def examples(automation):
    return make_examples(automation, 3)


@pytest.fixture
def lead(db):
    return make_lead()


@pytest.fixture
def review(automation, examples, lead):
    return review_create(automation=automation, user=lead, title="Recheck", status="open",
                         example_names=[e.name for e in examples], focus_fields=[{"path": "vendor.iban"}])
