"""`manage.py demo --no-serve` on a database without the role groups (its own module: the tests
of test_demo_command.py share one demo load, this one starts from an empty database)."""

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=False)


def test_the_demo_makes_the_role_groups_an_emptied_database_lacks(db):
    # A database emptied since its migrations (a transactional test's flush does it) has no role
    # groups; the demo account still gets every role.
    from django.contrib.auth.models import Group

    Group.objects.all().delete()
    call_command("demo", "--no-serve", "--runs", "300", stdout=io.StringIO(), verbosity=0)
    user = authenticate(username="demo", password="demo")
    assert set(user.groups.values_list("name", flat=True)) == {"reviewer", "lead", "ops"}
