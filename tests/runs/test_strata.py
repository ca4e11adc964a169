"""Sampling by risk (runs/strata.py, runs.policy.sampling_policy_set): conditions, validation
naming the field, each run's stratum and inclusion rate stored at ingest, re-sampling of later
runs, the history row, and the estimate that weights by inclusion rate staying unbiased."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from datasets.loop import runs_record_and_check
from insights.estimates import Stratum as Cell
from insights.estimates import weighted_pass_rate
from insights.stats import pass_rate_estimates, stratum_estimates
from review.services import review_update
from runs.models import Run, SamplingRateChange
from runs.policy import InvalidRate, StaleSampling, sampling_policy_set
from runs.records import parse_run_record
from runs.strata import StrataError, strata_parse, stratum_of
from tests.factories import make_automation, run_record

pytestmark = pytest.mark.django_db

RISKY = [
    {"name": "judge failed", "when": {"kind": "score", "evaluator": "judge", "failed": True}, "rate": 100},
    {"name": "low score", "when": {"kind": "score", "below": 0.3}, "rate": 50},
    {"name": "vip", "when": {"kind": "tag", "tag": "vip"}, "rate": 100},
    {"name": "unsure", "when": {"kind": "low_confidence", "level": "low"}, "rate": 100},
    {"name": "big invoice", "when": {"kind": "json", "source": "output", "path": "/total", "op": "gt",
                                      "value": 10_000}, "rate": 100},
    {"name": "new version", "when": {"kind": "new_version", "days": 7}, "rate": 25},
]


def _record(**fields):
    return parse_run_record(run_record(make_automation("workflows.x"), **fields))


@pytest.mark.parametrize(("fields", "expected"), [
    ({"scores": [{"name": "judge", "passed": False}]}, "judge failed"),
    ({"scores": [{"name": "other", "passed": False, "value": 0.9}]}, ""),
    ({"scores": [{"name": "other", "value": 0.2}]}, "low score"),
    ({"metadata": {"tags": ["vip", "eu"]}}, "vip"),
    ({"metadata": {"fieldMetadata": {"/total": {"confidence": "low"}}}}, "unsure"),
    ({"metadata": {"fieldMetadata": {"/total": "high"}}}, ""),
    ({"output": {"total": 12_000}}, "big invoice"),
    ({"output": {"total": "12000"}}, ""),
    ({"version": "v9"}, "new version"),
])
def test_the_first_stratum_whose_condition_holds_takes_the_run(fields, expected):
    strata = tuple(strata_parse(RISKY))
    first_seen = {"v3": timezone.now() - timedelta(days=30), "v9": timezone.now() - timedelta(days=1)}
    name, rate = stratum_of(strata, 500, _record(**fields), first_seen)
    assert name == expected
    assert rate == ({s.name: s.rate_bp for s in strata}[name] if name else 500)


@pytest.mark.parametrize(("strata", "field"), [
    ("all", "strata"),
    ([{"name": "a", "when": {"kind": "nope"}, "rate": 5}], "strata[0].when.kind"),
    ([{"name": "a", "when": {"kind": "new_version", "days": 0}, "rate": 5}], "strata[0].when.days"),
    ([{"name": "a", "when": {"kind": "tag", "tag": "x"}, "rate": 101}], "strata[0].rate"),
    ([{"name": "a", "when": {"kind": "tag", "tag": "x"}, "rate": -1}], "strata[0].rate"),
    ([{"name": "a", "when": {"kind": "tag", "tag": "x"}, "rate": 5},
      {"name": "a", "when": {"kind": "tag", "tag": "y"}, "rate": 5}], "strata[1].name"),
    ([{"name": "a", "when": {"kind": "json", "source": "output", "path": "total", "op": "gt", "value": 1},
       "rate": 5}], "strata[0].when.path"),
    ([{"name": "a", "when": {"kind": "json", "source": "output", "path": "/a" * 13, "op": "exists"},
       "rate": 5}], "strata[0].when.path"),
    ([{"name": "a", "when": {"kind": "low_confidence", "below": 2}, "rate": 5}], "strata[0].when.below"),
    ([{"name": "a", "when": {"kind": "score", "evaluator": "j"}, "rate": 5}], "strata[0].when"),
    ([{"name": "a", "when": {"kind": "tag", "tag": "x", "regex": ".*"}, "rate": 5}], "strata[0].when.regex"),
])
def test_an_invalid_stratum_is_refused_naming_the_field(strata, field):
    with pytest.raises(StrataError) as refused:
        strata_parse(strata)
    assert refused.value.field == field


def test_runs_store_their_stratum_and_inclusion_rate_when_recorded(ops):
    automation = make_automation("workflows.risky", rate_bp=500)
    sampling_policy_set(automation=automation, user=ops, reason="risk", strata=RISKY[:1],
                        now=timezone.now() - timedelta(days=2))
    records = [run_record(automation, scores=[{"name": "judge", "passed": i % 4 != 0}]) for i in range(40)]
    runs_record_and_check([parse_run_record(r) for r in records])
    runs = list(Run.objects.filter(automation=automation))
    failed = [r for r in runs if r.stratum == "judge failed"]
    assert len(failed) == 10 and all(r.sampled and r.inclusion_bp == 10_000 for r in failed)
    rest = [r for r in runs if r.stratum == ""]
    assert all(r.inclusion_bp == 500 and r.sampled == (r.sample_bucket < 500) for r in rest)
    change = SamplingRateChange.objects.filter(automation=automation).latest("id")
    assert change.strata[0]["name"] == "judge failed" and change.changed_by == ops and change.reason == "risk"


def test_bad_input_saves_nothing_and_names_the_field(ops):
    automation = make_automation("workflows.strict", rate_bp=500)
    before = (SamplingRateChange.objects.count(), automation.sampling_version)
    for kwargs, field in [({"default_bp": 10_001}, "defaultRate"),
                          ({"default_bp": 100, "reason": " "}, "reason"),
                          ({"strata": [{"name": "x", "when": {"kind": "tag"}, "rate": 5}]}, "strata[0].when.tag"),
                          ({"threshold": 1.5}, "stepDownThreshold"),
                          ({"default_bp": 100, "effective_at": timezone.now() - timedelta(hours=1)}, "effectiveAt")]:
        with pytest.raises(InvalidRate) as refused:
            sampling_policy_set(automation=automation, user=ops, **{"reason": "r", **kwargs})
        assert refused.value.field == field
    automation.refresh_from_db()
    assert (SamplingRateChange.objects.count(), automation.sampling_version) == before
    assert automation.sampling_rate_bp == 500 and automation.sampling_strata == []


def test_a_scheduled_change_applies_from_its_time_and_a_stale_version_is_refused(ops):
    automation = make_automation("workflows.later", rate_bp=500)
    at = timezone.now() + timedelta(hours=2)
    sampling_policy_set(automation=automation, user=ops, reason="tonight", default_bp=10_000, effective_at=at,
                        expected_version=1)
    before = parse_run_record(run_record(automation, createdAt=(at - timedelta(minutes=1)).isoformat()))
    after = parse_run_record(run_record(automation, createdAt=(at + timedelta(minutes=1)).isoformat()))
    runs_record_and_check([before, after])
    assert Run.objects.get(pk=after.id).inclusion_bp == 10_000
    assert Run.objects.get(pk=before.id).inclusion_bp == 500
    with pytest.raises(StaleSampling):
        sampling_policy_set(automation=automation, user=ops, reason="again", default_bp=100, expected_version=1)
    with pytest.raises(InvalidRate) as refused:  # before the scheduled one
        sampling_policy_set(automation=automation, user=ops, reason="now", default_bp=100)
    assert refused.value.field == "effectiveAt"


def test_new_strata_re_sample_runs_stamped_later(ops, reviewer):
    automation = make_automation("workflows.skew", rate_bp=0)
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    records = [run_record(automation, createdAt=future, metadata={"tags": ["vip"] if i % 2 else []})
               for i in range(10)]
    runs_record_and_check([parse_run_record(r) for r in records])
    assert not Run.objects.filter(automation=automation, sampled=True).exists()
    sampling_policy_set(automation=automation, user=ops, reason="vip", strata=RISKY[2:3])
    vip = Run.objects.filter(automation=automation, stratum="vip", sampled=True, inclusion_bp=10_000)
    assert vip.count() == 5


def test_estimates_weight_by_stratum_from_the_database(ops, reviewer):
    """Failures only in the risky stratum (sampled at 100 %), none in the rest (at 50 %): the
    weighted estimate matches the cells by hand, the pooled rate would not."""
    automation = make_automation("workflows.mixed", rate_bp=5000)
    sampling_policy_set(automation=automation, user=ops, reason="risk", strata=RISKY[:1],
                        now=timezone.now() - timedelta(days=2))
    created = timezone.now() - timedelta(days=1)
    records = [run_record(automation, createdAt=(created - timedelta(minutes=i)).isoformat(),
                          scores=[{"name": "judge", "passed": i % 5 != 0}]) for i in range(60)]
    runs_record_and_check([parse_run_record(r) for r in records])
    for run in Run.objects.filter(automation=automation, sampled=True):
        review_update(run=run, changes={"rating": "fail" if run.stratum else "pass"}, user=reviewer)
    risky = Run.objects.filter(automation=automation, stratum="judge failed").count()
    rest = Run.objects.filter(automation=automation, stratum="", sampled=True).count()
    start, end = timezone.now() - timedelta(days=30), timezone.now()
    estimate = pass_rate_estimates([automation], start=start, end=end)[automation.pk]
    expected = weighted_pass_rate([Cell(10_000, risky, risky, 0), Cell(5000, rest, rest, rest)])
    assert estimate.estimate == pytest.approx(expected.estimate)
    by_stratum = stratum_estimates(automation, start=start, end=end)
    assert by_stratum["judge failed"].estimate == 0 and by_stratum[""].estimate == 1


def _risk_simulation(seed: int, runs: int = 20_000):
    """Failures concentrated in a 10 % stratum sampled at 100 %, the rest at 5 %: what the cells
    hold for one seed, and the true pass rate of that traffic."""
    rng = np.random.default_rng(seed)
    risky = rng.random(runs) < 0.10
    failed = np.where(risky, rng.random(runs) < 0.40, rng.random(runs) < 0.02)
    sampled = rng.integers(0, 10_000, runs) < np.where(risky, 10_000, 500)
    cells = []
    for rate, mask in ((10_000, risky), (500, ~risky)):
        chosen = sampled & mask
        cells.append(Cell(rate, int(chosen.sum()), int(chosen.sum()), int((chosen & ~failed).sum())))
    return 1 - failed.mean(), cells


def test_risk_sampling_stays_unbiased_and_covered_over_200_seeds():
    biases, covered = [], 0
    for seed in range(200):
        truth, cells = _risk_simulation(seed)
        estimate = weighted_pass_rate(cells)
        biases.append(estimate.estimate - truth)
        covered += estimate.low <= truth <= estimate.high
    pooled = np.mean([sum(c.passed for c in cells) / sum(c.reviewed for c in cells) - truth
                      for truth, cells in map(_risk_simulation, range(20))])
    print(f"\nrisk strata: mean bias {np.mean(biases) * 100:+.3f} points, coverage {covered / 200:.3f}, "
          f"pooled bias {pooled * 100:+.1f} points")
    assert abs(np.mean(biases)) * 100 <= 0.5
    assert covered / 200 >= 0.95
