"""runs.sql.compiled_once / raw_once: a query compiled once per key answers for every value."""

import pytest

from runs.models import Run
from runs.sql import compiled_once, raw_once
from tests.factories import make_automation, make_run

pytestmark = pytest.mark.django_db


def test_one_compiled_query_answers_for_each_value():
    automation = make_automation()
    first, second = make_run(automation), make_run(automation)

    def build(marker):
        return Run.objects.filter(pk=marker).only("id")

    assert [r.pk for r in raw_once("test one run", build, first.pk)] == [first.pk]
    assert [r.pk for r in raw_once("test one run", build, second.pk)] == [second.pk]
    assert list(raw_once("test one run", build, "no-such-run")) == []


def test_a_value_may_appear_more_than_once():
    automation = make_automation()
    run = make_run(automation)

    def build(marker):
        runs = Run.objects.order_by().values_list("id")
        return runs.filter(pk=marker).union(runs.filter(example_id=marker), all=True)

    sql, params = compiled_once("test twice", build, run.pk)
    assert params.count(run.pk) == 2 and "compiled_once" not in " ".join(map(str, params))


def test_a_value_the_query_does_not_take_is_refused():
    with pytest.raises(ValueError, match="every value"):
        compiled_once("test unused", lambda marker: Run.objects.all(), "x")
