"""Load the demo: users, automations with a sampling-rate history, runs, and a month of reviews.

Everything goes through the services production uses (runs_record_and_check, review_verdict,
review_update, expected_file_upload, example_promote), so sampled flags, previews, chip
counters and the audit trail are exactly what real use would leave. Services stamp "now";
afterwards the review rows, audit events, expected files and examples are backdated with
queryset updates so the backlog chart shows a month of work.
"""

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from tqdm import tqdm

from accounts.roles import ALL_ROLES, LEAD, REVIEWER
from datasets.loop import runs_record_and_check
from datasets.models import Example
from datasets.services import example_promote
from demo.generate import AUTOMATIONS, DemoRun, demo_runs
from review.counters import review_counts_recount, review_day_counts_recount, reviewer_counts_recount
from review.models import AuditEvent, ExpectedFile, Review
from review.services import expected_file_upload, review_set_status, review_update, review_verdict
from runs.counters import chip_counts_recount
from runs.models import Automation, Run, SamplingRateChange
from runs.partitions import partitions_ensure
from runs.policy import sampling_rate_set
from runs.records import parse_run_record
from runs.services import automation_ensure

DEMO_USERNAME = DEMO_PASSWORD = "demo"
# username, first, last, roles, weight as a reviewer. Every demo account's password is "demo".
TEAM = (
    ("maya", "Maya", "Patel", (REVIEWER,), 35),
    ("sam", "Sam", "Okoro", (REVIEWER,), 30),
    ("jonas", "Jonas", "Berg", (REVIEWER,), 20),
    ("priya", "Priya", "Raman", (REVIEWER, LEAD), 10),
)
LEAD_USERNAME = "priya"
INSERT_BATCH = 250
# Files go where reviewers look: every sampled run (the queue's runs) stores the documents its
# input names, so the pane shows the source beside the output; a few other runs carry them too.
FILES_SAMPLED, FILES_OTHER = 1.0, 0.06

FLAW_NOTES = {
    "total_without_tax": "Total is the subtotal: the tax line was left out.",
    "dropped_line_item": "Last line item is missing (it sits at the bottom of the page).",
    "wrong_amount": "Amount misread: the thousands separator was taken for a decimal point.",
    "swapped_date": "Invoice date read as MM/DD; this vendor writes DD/MM.",
    "vat_id_digit": "VAT ID is missing a digit.",
    "dropped_transaction": "A transaction at the page break was dropped; the balances no longer add up.",
    "sign_flipped": "A debit was extracted as a credit.",
    "closing_balance": "Closing balance taken from the line before the last transaction.",
    "wrong_category": "Wrong category, so it went to the wrong queue.",
    "priority_too_low": "Priority too low for what the customer describes.",
    "missed_entity": "Missed an entity that is right there in the e-mail.",
}
FAILED_NOTES = ("Provider outage that afternoon; not a model problem.", "Bad input: the PDF is a scan of a photo.",
                "Known limit, tracked in the platform backlog.")
NOTE_ONLY = ("Vendor address looks truncated? Check against the PDF later.",
             "Not sure about the category here; asking Priya.", "Long document; second look tomorrow.")
PARTIAL_NOTES = ("Mostly right, but the summary is too vague to act on.",
                 "Correct values; the currency should come from the document, not the vendor default.")
# Plans and the chip each one leaves the run in.
CHIP_OF_PLAN = {"pass": "passed", "golden": "passed", "note": "unreviewed", "ignore": "ignored",
                "correct_open": "open", "partial_open": "open", "correct_resolved": "failed",
                "resolve_failed": "failed"}


@dataclass
class DemoSummary:
    runs: int = 0
    reviews: int = 0
    examples: int = 0
    chips: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- users


def demo_user_ensure() -> User:
    """The demo/demo account: superuser, staff, and every role group. Idempotent."""
    user, _ = User.objects.get_or_create(username=DEMO_USERNAME, defaults={"email": "demo@northwind.example"})
    user.is_superuser = user.is_staff = user.is_active = True
    user.first_name, user.last_name = user.first_name or "Demo", user.last_name or "User"
    user.set_password(DEMO_PASSWORD)
    user.save()
    user.groups.add(*_role_groups(ALL_ROLES))
    return user


def _role_groups(names) -> list[Group]:
    """The role groups, made again where they are missing (the migration creates them; a database
    emptied since, as a test's flush does, has none), as accounts.oidc does for the roles it syncs."""
    return [Group.objects.get_or_create(name=name)[0] for name in names]


def team_ensure() -> dict[str, User]:
    users = {DEMO_USERNAME: demo_user_ensure()}
    for username, first, last, roles, _ in TEAM:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@northwind.example"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(*_role_groups(roles))
        users[username] = user
    return users


# --------------------------------------------------------------------------- automations


def automations_ensure(*, now: datetime, lead: User | None) -> dict[str, Automation]:
    """The demo automations; a new one gets its rate history backdated (DemoAutomation.rates)."""
    found = {}
    for spec in AUTOMATIONS:
        prefix, _, slug = spec.ref.partition(".")
        kind = "workflow" if prefix == "workflows" else "agent"
        is_new = not Automation.objects.filter(kind=kind, slug=slug).exists()
        days, rate_bp, reason = spec.rates[0]
        automation = automation_ensure(kind=kind, slug=slug, name=spec.name, rate_bp=rate_bp)
        if is_new:
            start = now - timedelta(days=days)
            Automation.objects.filter(pk=automation.pk).update(created_at=start, description=spec.description)
            SamplingRateChange.objects.filter(automation=automation).update(effective_at=start, reason=reason)
            for days_ago, later_bp, later_reason in spec.rates[1:]:
                sampling_rate_set(automation=automation, rate_bp=later_bp, user=lead, reason=later_reason,
                                  now=now - timedelta(days=days_ago))
            automation.refresh_from_db()
        found[spec.ref] = automation
    return found


# --------------------------------------------------------------------------- reviews


def _plan_for(demo: DemoRun, rng: random.Random) -> str | None:
    status = demo.record["status"]
    if status == "failed":
        return rng.choice(("ignore", "ignore", "resolve_failed"))
    if status == "cancelled":
        return "ignore"
    if status != "completed":
        return None
    if demo.flaw:
        return rng.choices(("correct_open", "partial_open", "correct_resolved"), weights=(45, 15, 40))[0]
    return rng.choices(("pass", "golden", "note", "ignore", "partial_open"), weights=(88, 3, 4, 2, 3))[0]


def plan_reviews(demos: list[DemoRun], sampled: dict[str, bool], *, now: datetime, rng: random.Random) -> dict:
    """Which runs get which review. Sampled runs older than a day and a half are mostly
    reviewed (the recent ones are the backlog); a dozen unsampled runs were opened anyway.
    Every chip gets at least one run, whatever the run count."""
    plans = {}
    for demo in demos:
        run_id = demo.record["id"]
        age = now - datetime.fromisoformat(demo.record["createdAt"].replace("Z", "+00:00"))
        chance = (0.85 if age > timedelta(hours=36) else 0.15) if sampled[run_id] else 0.004
        if rng.random() < chance:
            plan = _plan_for(demo, rng)
            if plan:
                plans[run_id] = plan
    _cover_every_chip(demos, sampled, plans)
    return plans


def _cover_every_chip(demos: list[DemoRun], sampled: dict[str, bool], plans: dict) -> None:
    """Give a chip no plan reached one run (sampled and flawed runs first)."""
    covered = {CHIP_OF_PLAN[p] for p in plans.values()}
    completed = [d for d in demos if d.record["status"] == "completed" and d.record["id"] not in plans]
    completed.sort(key=lambda d: (not sampled[d.record["id"]], d.flaw is None))  # sampled and flawed first
    for chip, plan in (("open", "correct_open"), ("failed", "correct_resolved"), ("passed", "pass"),
                       ("ignored", "ignore"), ("unreviewed", "note")):
        if chip in covered or not completed:
            continue
        demo, plan = _pick_for(chip, plan, completed)
        completed.remove(demo)
        plans[demo.record["id"]] = plan


def _pick_for(chip: str, plan: str, completed: list[DemoRun]) -> tuple[DemoRun, str]:
    """A run for a chip no plan reached: a flawed one for a correction (else, with no planted
    mistake left, a miss without a correction), an unflawed one otherwise."""
    wants_flaw = plan.startswith("correct")
    demo = next((d for d in completed if (d.flaw is not None) == wants_flaw), completed[0])
    if wants_flaw and not demo.flaw:
        plan = "partial_open" if chip == "open" else "resolve_failed"
    return demo, plan


def _pick_reviewer(users: dict[str, User], rng: random.Random) -> User:
    names = [t[0] for t in TEAM] + [DEMO_USERNAME]
    return users[rng.choices(names, weights=[t[4] for t in TEAM] + [5])[0]]


def _example_name(demo: DemoRun, counter: int) -> str:
    output = demo.record["output"] or {}
    subject = ((output.get("vendor") or {}).get("name") or (output.get("account") or {}).get("bank")
               or output.get("category") or "run")
    return slugify(f"{subject} {(demo.flaw or 'golden').replace('_', '-')} {counter}")[:120]


@dataclass
class _Act:
    """What one plan's reviews need: the run, who reviews it, and `step` to move the clock."""

    demo: DemoRun
    run: Run
    reviewer: User
    lead: User
    rng: random.Random
    step: Callable


def _pass(a: _Act, plan: str) -> None:
    review_verdict(run=a.run, verdict="pass", user=a.reviewer)
    a.step()
    if plan == "golden":
        review_update(run=a.run, changes={"expected": a.run.output, "body": "Clean example; worth keeping."},
                      user=a.reviewer)
        a.step()


def _note(a: _Act, plan: str) -> None:
    review_update(run=a.run, changes={"body": a.rng.choice(NOTE_ONLY)}, user=a.reviewer)
    a.step()


def _ignore(a: _Act, plan: str) -> None:
    review_set_status(run=a.run, action="ignore", user=a.reviewer)
    a.step()
    note = a.rng.choice(FAILED_NOTES) if a.run.status != "completed" else "Duplicate of an earlier run (resent e-mail)."
    review_update(run=a.run, changes={"body": note}, user=a.reviewer)
    a.step()


def _resolve_failed(a: _Act, plan: str) -> None:
    review_update(run=a.run, changes={"body": a.rng.choice(FAILED_NOTES)}, user=a.reviewer)
    a.step(3600, 86400)
    review_set_status(run=a.run, action="resolve", user=a.lead)
    a.step()


def _partial(a: _Act, plan: str) -> None:
    review_verdict(run=a.run, verdict="partial", user=a.reviewer)
    a.step()
    note = FLAW_NOTES.get(a.demo.flaw) or a.rng.choice(PARTIAL_NOTES)
    changes = {"body": note, **({"expected": a.demo.truth} if a.demo.truth else {})}
    review_update(run=a.run, changes=changes, user=a.reviewer)
    a.step()


def _correct(a: _Act, plan: str) -> None:
    demo = a.demo
    review_verdict(run=a.run, verdict="fail", user=a.reviewer)
    a.step(60, 600)
    review_update(run=a.run, changes={"expected": demo.truth, "body": FLAW_NOTES[demo.flaw]}, user=a.reviewer)
    a.step()
    if demo.automation.csv and any(f["role"] == "output" for f in demo.record.get("files") or []):
        name = demo.automation.csv_name
        upload = ContentFile(demo.automation.csv(demo.truth).encode("utf-8"), name=name)
        expected_file_upload(run=a.run, upload=upload, name=name, user=a.reviewer)
        a.step()


PLAN_ACTS = {"pass": _pass, "golden": _pass, "note": _note, "ignore": _ignore, "resolve_failed": _resolve_failed,
             "partial_open": _partial, "correct_open": _correct, "correct_resolved": _correct}


def review_one(demo: DemoRun, run: Run, plan: str, *, users: dict[str, User], now: datetime,
               rng: random.Random, promote_name: str | None) -> list[datetime]:
    """Apply one plan through the review services; returns the moment of each audit event."""
    reviewer = _pick_reviewer(users, rng)
    lead = users[LEAD_USERNAME]
    created = run.created_at
    start = min(created + timedelta(minutes=5 + rng.expovariate(1 / 1400)), now - timedelta(minutes=10))
    moments, clock = [], start

    def step(seconds_low=20, seconds_high=400):
        nonlocal clock
        moments.append(clock)
        clock = min(clock + timedelta(seconds=rng.randint(seconds_low, seconds_high)), now - timedelta(minutes=1))

    PLAN_ACTS[plan](_Act(demo, run, reviewer, lead, rng, step), plan)
    if promote_name:
        example_promote(run=run, name=promote_name, user=rng.choice((reviewer, lead)))
        step(60, 3 * 86400)
    if plan == "correct_resolved":
        clock = min(clock + timedelta(days=rng.uniform(0.5, 6)), now - timedelta(minutes=3))
        review_set_status(run=run, action="resolve", user=lead)
        step()
    return moments


def _backdate_made(run: Run, action: str, moment: datetime) -> None:
    """What an audited action made (a promoted example, an expected file) dated `moment`."""
    if action == "promote":
        for example in Example.objects.filter(source_run=run):
            metadata = {**(example.metadata or {}), "promotedAt": moment.isoformat()}
            Example.objects.filter(pk=example.pk).update(created_at=moment, updated_at=moment, metadata=metadata)
    if action.startswith("expected_file"):
        ExpectedFile.objects.filter(review__run=run).update(created_at=moment)


def backdate(run: Run, moments: list[datetime]) -> None:
    """Move the services' "now" stamps of one run's review trail to the planned moments."""
    events = list(AuditEvent.objects.filter(run=run).order_by("id").values_list("id", "action"))
    if not events:
        return
    moments = moments + [moments[-1]] * (len(events) - len(moments))
    resolved_at = None
    for (event_id, action), moment in zip(events, moments, strict=False):
        AuditEvent.objects.filter(pk=event_id).update(created_at=moment)
        if action in ("resolve", "ignore", "verdict:pass"):
            resolved_at = moment
        _backdate_made(run, action, moment)
    review = Review.objects.get(run=run)
    last_change = [m for (_, action), m in zip(events, moments, strict=False) if action != "promote"]
    Review.objects.filter(pk=review.pk).update(
        created_at=moments[0], updated_at=(last_change or moments)[-1],
        resolved_at=resolved_at if review.resolved_at else None,
    )


# --------------------------------------------------------------------------- the whole demo


def _batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_demo(*, runs: int = 3000, seed: int = 7, now: datetime | None = None, progress: bool = False) -> DemoSummary:
    """Create the demo users, automations (with rate history), `runs` runs and their reviews.

    Meant for an empty database (the `demo` command checks); on a loaded one the same seed
    and `now` update the same runs in place.
    """
    now = now or timezone.now()
    rng = random.Random(seed + 1)
    users = team_ensure()
    automations = automations_ensure(now=now, lead=users[LEAD_USERNAME])
    demos = list(demo_runs(count=runs, seed=seed, now=now, files_ratio=0))
    _attach_files(demos, automations, rng)
    records = [parse_run_record(d.record) for d in demos]
    # The months the runs fall in get their partitions first (runs.partitions; PostgreSQL).
    partitions_ensure(since=min((r.created_at for r in records), default=now))
    bar = tqdm(total=len(records), desc="Demo runs", unit="run", disable=not progress)
    for chunk in _batches(records, INSERT_BATCH):
        runs_record_and_check(chunk)
        bar.update(len(chunk))
    bar.close()
    for automation in automations.values():
        chip_counts_recount(automation=automation)

    sampled = dict(Run.objects.filter(pk__in=[d.record["id"] for d in demos]).values_list("id", "sampled"))
    plans = plan_reviews(demos, sampled, now=now, rng=rng)
    summary = _review_all(demos, plans, users=users, now=now, rng=rng, progress=progress)
    record_example_runs(now=now, rng=rng)
    # The reviews above were backdated after the services counted them today: rebuild the rollups.
    for automation in automations.values():
        review_counts_recount(automation=automation)
        review_day_counts_recount(automation=automation)
        reviewer_counts_recount(automation=automation)
    return summary


def _attach_files(demos: list[DemoRun], automations: dict, rng: random.Random) -> None:
    """Files for some runs: more of the sampled ones (those a reviewer opens)."""
    schedules = {ref: automation.rate_schedule() for ref, automation in automations.items()}
    for demo in demos:
        created_at = datetime.fromisoformat(demo.record["createdAt"].replace("Z", "+00:00"))
        sampled = schedules[demo.automation.ref].is_sampled(demo.record["id"], created_at)
        if rng.random() < (FILES_SAMPLED if sampled else FILES_OTHER):
            demo.attach_files()


def _review_all(demos: list[DemoRun], plans: dict, *, users: dict, now: datetime, rng: random.Random,
                progress: bool) -> DemoSummary:
    """Every planned review through the services, backdated; half the corrected misses (and at
    least one) and the golden runs promoted."""
    by_id = {d.record["id"]: d for d in demos}
    promote_left = True
    summary = DemoSummary(runs=len(demos))
    bar = tqdm(total=len(plans), desc="Demo reviews", unit="review", disable=not progress)
    for number, (run_id, plan) in enumerate(plans.items(), start=1):
        demo = by_id[run_id]
        promote = (plan.startswith("correct") and rng.random() < 0.5) or plan == "golden"
        if promote_left and plan.startswith("correct"):
            promote, promote_left = True, False  # at least one promoted example, whatever the size
        with transaction.atomic():
            run = Run.objects.get(pk=run_id)
            name = _example_name(demo, number) if promote else None
            moments = review_one(demo, run, plan, users=users, now=now, rng=rng, promote_name=name)
            backdate(run, moments)
        summary.reviews += 1
        summary.examples += bool(promote)
        summary.chips[CHIP_OF_PLAN[plan]] = summary.chips.get(CHIP_OF_PLAN[plan], 0) + 1
        bar.update(1)
    bar.close()
    return summary


def record_example_runs(*, now: datetime, rng: random.Random, count: int = 6) -> None:
    """Close the loop for a few open misses: record a later run of their promoted example,
    most fixed (the output equals the correction), some still wrong, so the review pane and the
    example page show regression checks in both states."""
    reviews = list(Review.objects.filter(status="open", promoted_example__isnull=False)
                   .select_related("run__automation", "promoted_example").order_by("run_id")[:count])
    records = []
    for index, review in enumerate(reviews):
        example, run = review.promoted_example, review.run
        fixed = index % 3 != 2
        created = now - timedelta(hours=rng.randint(1, 20))
        records.append({
            "id": f"{run.pk}-rerun", "automation": run.automation.ref, "status": "completed", "trigger": "api",
            "version": "v5", "input": run.input, "output": example.expected if fixed else run.output,
            "exampleId": str(example.pk), "createdAt": created.isoformat(),
            "completedAt": (created + timedelta(seconds=9)).isoformat(), "durationMs": 9000,
        })
    if records:
        runs_record_and_check([parse_run_record(r) for r in records])
