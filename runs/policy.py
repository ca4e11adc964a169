"""Sampling policy writes (docs/rules.md#sampling, #strata, #double-review): the default rate,
the strata, the step-down threshold and the double-review share, each change a history row; and
re-sampling the runs created after a change takes effect, moving every counter that follows."""

from collections import Counter

from django.db import models, transaction
from django.utils import timezone

from events.outbox import event_emit, event_wanted
from events.types import SAMPLING_RATE_CHANGED
from runs.counters import chip_counts_recount, run_rollups_follow, sampled_version_key, version_counts_add
from runs.models import DOUBLE_WANTED, Automation, EvaluatorScore, Run, RunVersion, SamplingRateChange
from runs.sampling import BUCKETS
from runs.sql import in_values
from runs.strata import DEFAULT as DEFAULT_STRATUM
from runs.strata import StrataError, strata_parse, stratum_of, uses_versions


class InvalidRate(ValueError):
    """A sampling change refused; `field` names the offending input (the API's 400 names it)."""

    def __init__(self, message: str, field: str = "<root>"):
        super().__init__(message)
        self.field = field


class StaleSampling(ValueError):
    """The sampling settings changed since the version the writer saw (the API's 412)."""

    def __init__(self, current: int):
        super().__init__(f"The sampling settings are at version {current}; reload them and try again.")
        self.current = current


def sampling_rate_set(*, automation: Automation, rate_bp: int, user, reason: str, now=None) -> SamplingRateChange:
    """Change the default rate from now on. Runs already created keep the rate they were created
    under (sampling_policy_set says how)."""
    return sampling_policy_set(automation=automation, user=user, reason=reason, default_bp=rate_bp, now=now)


def sampling_policy_set(*, automation: Automation, user, reason: str, default_bp: int | None = None,
                        strata: list | None = None, threshold: float | None = None, effective_at=None,
                        expected_version: int | None = None, now=None,
                        double_bp: int | None = None) -> SamplingRateChange:
    """Change an automation's sampling (default rate, strata, step-down threshold; None leaves
    one as it is) from `effective_at` on (default now; never in the past, never before a change
    already scheduled), recorded in the rate history (one row, who, when, why). Only runs created
    from then on are affected: those already stored (stamped in the future) are re-sampled, with
    every counter that follows them. `expected_version`: refused (StaleSampling) when the
    automation's sampling_version moved on. `double_bp`: the double-review share of sampled runs
    (docs/rules.md#double-review). All or nothing; InvalidRate names the bad field."""
    if default_bp is not None and not _is_bp(default_bp):
        raise InvalidRate("The rate must be between 0 % and 100 %.", "defaultRate")
    if double_bp is not None and not _is_bp(double_bp):
        raise InvalidRate("The double-review share must be between 0 % and 100 %.", "doubleReviewShare")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidRate("Give a reason for the change.", "reason")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0 < threshold <= 1):
        raise InvalidRate("The threshold must be above 0 % and at most 100 %.", "stepDownThreshold")
    stored_strata = None
    if strata is not None:
        try:
            stored_strata = [s.as_dict() for s in strata_parse(strata)]
        except StrataError as error:
            raise InvalidRate(error.message, error.field) from None
    now = now or timezone.now()
    effective_at = effective_at or now
    if effective_at < now:
        raise InvalidRate("A change takes effect now or at a future time, never in the past.", "effectiveAt")
    with transaction.atomic():
        # The lock in a statement of its own; what is checked is read after it was granted.
        automation = Automation.objects.select_for_update().get(pk=automation.pk)
        if expected_version is not None and expected_version != automation.sampling_version:
            raise StaleSampling(automation.sampling_version)
        later = (SamplingRateChange.objects.filter(automation=automation, old_bp__isnull=False,
                                                   effective_at__gt=effective_at)
                 .order_by("-effective_at").values_list("effective_at", flat=True).first())
        if later is not None:
            raise InvalidRate(f"A change is already scheduled for {later.isoformat()}; "
                              "a new one must take effect after it.", "effectiveAt")
        new_bp = automation.sampling_rate_bp if default_bp is None else default_bp
        change = SamplingRateChange.objects.create(
            automation=automation, old_bp=automation.sampling_rate_bp, new_bp=new_bp, effective_at=effective_at,
            changed_by=user, reason=reason.strip(), strata=stored_strata, step_down_threshold=threshold,
            double_review_bp=double_bp,
        )
        automation.sampling_rate_bp = new_bp
        if stored_strata is not None:
            automation.sampling_strata = stored_strata
            if uses_versions(strata_parse(stored_strata)):
                _versions_fill(automation)
        if threshold is not None:
            automation.step_down_threshold = float(threshold)
        if double_bp is not None:
            automation.double_review_bp = double_bp
        automation.sampling_version += 1
        automation.save(update_fields=["sampling_rate_bp", "sampling_strata", "step_down_threshold",
                                       "double_review_bp", "sampling_version", "updated_at"])
        # Only runs stamped at or after the change (clock skew, or a scheduled change) can be
        # affected; normally none. Their review rollups move with them
        # (runs.counters.run_rollups_follow), in this transaction.
        runs_resample(automation=automation, since=effective_at)
        if (change.old_bp != change.new_bp or stored_strata is not None) and event_wanted(SAMPLING_RATE_CHANGED):
            event_emit(type=SAMPLING_RATE_CHANGED, automation_id=automation.ref, data={
                "automationId": automation.ref, "oldRate": change.old_bp / BUCKETS, "newRate": change.new_bp / BUCKETS,
                "strataChanged": stored_strata is not None,
                "effectiveAt": change.effective_at.isoformat(), "reason": change.reason,
                "by": getattr(user, "username", None) or None})
    return change


def _is_bp(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= BUCKETS


def _versions_fill(automation: Automation) -> None:
    """Note the first-seen time of the automation's versions not yet in RunVersion (when a
    new_version stratum is set; one grouped query over its runs)."""
    known = set(RunVersion.objects.filter(automation=automation).values_list("version", flat=True))
    rows = (Run.objects.filter(automation=automation, version__isnull=False).order_by().values("version")
            .annotate(first=models.Min("created_at")))
    RunVersion.objects.bulk_create([RunVersion(automation=automation, version=r["version"], first_seen=r["first"])
                                    for r in rows if r["version"] not in known])


def runs_resample(*, automation: Automation, since) -> int:
    """Recompute the stratum, inclusion probability and sampled flag of the automation's runs
    created at or after `since` from its schedule, moving the chip and day counters and the
    review rollups that follow the flag. One UPDATE per resulting (sampled, stratum, rate);
    returns the number of runs that changed."""
    later = list(Run.objects.filter(automation=automation, created_at__gte=since)
                 .only("id", "created_at", "sample_bucket", "sampled", "stratum", "inclusion_bp", "double_review",
                       "version",
                       "metadata", "input", "output"))
    if not later:
        return 0
    schedule = automation.rate_schedule()
    scores: dict[str, list] = {}
    if schedule.has_strata:
        for score in EvaluatorScore.objects.filter(in_values("run_id", [r.pk for r in later])):
            scores.setdefault(score.run_id, []).append(score)
    first_seen = dict(RunVersion.objects.filter(automation=automation).values_list("version", "first_seen"))
    groups: dict[tuple, list[str]] = {}
    moves: Counter = Counter()  # the per-version rollup's sampled runs, by deltas
    for run in later:
        rate, stratum = schedule.rate_at(run.created_at), DEFAULT_STRATUM
        strata = schedule.strata_at(run.created_at)
        if strata:
            run.scores = scores.get(run.pk, [])
            stratum, rate = stratum_of(strata, rate, run, first_seen)
        sampled = run.sample_bucket < rate
        double = run.double_review
        if double in ("", DOUBLE_WANTED):  # a second review already given stays (review.double)
            double = DOUBLE_WANTED if schedule.is_double(run.pk, run.created_at, sampled) else ""
        state = (sampled, stratum, rate, double)
        if state != (run.sampled, run.stratum, run.inclusion_bp, run.double_review):
            groups.setdefault(state, []).append(run.pk)
            if run.sampled:
                moves[sampled_version_key(automation.pk, run.created_at, run.version, run.stratum, run.inclusion_bp)] -= 1
            if state[0]:
                moves[sampled_version_key(automation.pk, run.created_at, run.version, stratum, rate)] += 1
    changed = [pk for ids in groups.values() for pk in ids]
    if changed:
        with run_rollups_follow(changed):
            for (sampled, stratum, rate, double), ids in groups.items():
                Run.objects.filter(in_values("pk", ids)).update(sampled=sampled, stratum=stratum, inclusion_bp=rate,
                                                                double_review=double)
            chip_counts_recount(automation=automation)
            version_counts_add(moves)
    return len(changed)


def step_down_threshold_set(*, automation: Automation, threshold: float, user,
                            reason: str = "Step-down threshold changed on the sampling page") -> Automation:
    """Set the pass-rate lower bound above which the sampling page suggests a lower rate: a
    sampling change like any other (history row, version), through sampling_policy_set."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise InvalidRate("The threshold must be above 0 % and at most 100 %.", "stepDownThreshold")
    sampling_policy_set(automation=automation, user=user, reason=reason, threshold=threshold)
    automation.refresh_from_db()
    return automation
