from datetime import UTC, datetime, timedelta

from runs.sampling import BUCKETS, RateSchedule, bp_to_percent, sample_bucket

T0 = datetime(2026, 10, 1, tzinfo=UTC)
IDS = [f"run_{n:05d}" for n in range(4000)]


def test_bucket_is_stable_and_in_range():
    assert sample_bucket("run_abc") == sample_bucket("run_abc")
    assert all(0 <= sample_bucket(i) < BUCKETS for i in IDS)


def test_buckets_spread_evenly_enough_to_sample_a_fraction():
    below = sum(sample_bucket(i) < 1000 for i in IDS)
    assert 300 < below < 500  # ~10 % of 4000


def test_rate_before_the_first_change_is_the_initial_rate():
    schedule = RateSchedule(initial_bp=1500, changes=((T0, 1000),))
    assert schedule.rate_at(T0 - timedelta(seconds=1)) == 1500


def test_a_change_applies_from_its_effective_moment():
    schedule = RateSchedule(initial_bp=1500, changes=((T0, 1000), (T0 + timedelta(days=5), 2000)))
    assert schedule.rate_at(T0) == 1000
    assert schedule.rate_at(T0 + timedelta(days=4)) == 1000
    assert schedule.rate_at(T0 + timedelta(days=5)) == 2000


def test_raising_the_rate_only_adds_runs():
    low = {i for i in IDS if RateSchedule(initial_bp=500).is_sampled(i, T0)}
    high = {i for i in IDS if RateSchedule(initial_bp=1500).is_sampled(i, T0)}
    assert low < high


def test_lowering_the_rate_leaves_earlier_runs_sampled():
    before = RateSchedule(initial_bp=1500)
    after = RateSchedule(initial_bp=1500, changes=((T0, 500),))
    earlier = T0 - timedelta(hours=1)
    assert [before.is_sampled(i, earlier) for i in IDS] == [after.is_sampled(i, earlier) for i in IDS]


def test_lowering_the_rate_samples_fewer_later_runs():
    schedule = RateSchedule(initial_bp=1500, changes=((T0, 500),))
    before, after = T0 - timedelta(hours=1), T0 + timedelta(hours=1)
    assert sum(schedule.is_sampled(i, after) for i in IDS) < sum(schedule.is_sampled(i, before) for i in IDS)


def test_rates_print_as_percentages():
    assert (bp_to_percent(1500), bp_to_percent(50), bp_to_percent(10_000)) == ("15%", "0.5%", "100%")
