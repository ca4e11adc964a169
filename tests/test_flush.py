"""The flush that ends every transactional test (on PostgreSQL the DELETE of tests/conftest.py:
_flush_by_delete instead of Django's TRUNCATE) leaves every table empty except the content types
and permissions that post_migrate would make again."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from review.services import review_update
from tests.factories import make_automation, make_run


@pytest.mark.django_db(transaction=True)
def test_the_flush_empties_every_table_but_what_post_migrate_makes():
    user = User.objects.create_user("rita", password="pw")
    run = make_run(make_automation())
    review_update(run=run, changes={"rating": "fail", "status": "open", "body": "wrong total"}, user=user)
    made = (ContentType.objects.count(), Permission.objects.count())
    filled = {model._meta.db_table for model in apps.get_models() if model._base_manager.exists()}
    assert {"auth_user", "runs_run", "runs_automation", "review_review"} <= filled

    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)

    left = {model._meta.db_table for model in apps.get_models() if model._base_manager.exists()}
    assert left == {"django_content_type", "auth_permission"}
    assert (ContentType.objects.count(), Permission.objects.count()) == made
