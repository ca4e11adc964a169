"""Realistic, production-like run records for the demo and for volume seeding.

Three automations, each with plausible inputs and outputs whose numbers add up:

- `workflows.extract-invoice`: a vendor invoice PDF -> vendor, dates, totals, line items;
- `workflows.extract-statement`: a bank statement PDF -> account, period, balances, transactions;
- `agents.triage-email`: an inbound e-mail -> category, priority, summary, entities, reply, route.

`demo_runs()` yields `DemoRun`s: a record in the runs/records.py shape plus, when the
generator planted a realistic model mistake (a dropped line item, a total without tax, a
wrong category...), the correct output (`truth`) a reviewer would write as the expected
output. Everything is drawn from one `random.Random(seed)`, so a seed and a `now` give the
same runs every time. The loader that writes them (with reviews) is demo/load.py; the documents of each
automation are demo/invoices.py, demo/statements.py and demo/triage.py. The automations' texts and
numbers (names, shares, rate histories, triggers, durations, flaw rates, errors) are data, in
demo/data/automations.json (loaded once at import); this module maps each to its generators (GENERATORS).
"""

import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from demo.confidence import demo_field_confidence
from demo.invoices import invoice_csv, invoice_files, invoice_flaw, invoice_payload
from demo.statements import statement_csv, statement_files, statement_flaw, statement_payload
from demo.triage import triage_files, triage_flaw, triage_payload

# --------------------------------------------------------------------------- automations and runs


@dataclass(frozen=True)
class DemoAutomation:
    ref: str
    name: str
    description: str
    share: float  # of all demo runs
    # (days ago, rate in basis points, reason): the rate history, oldest first
    rates: tuple[tuple[int, int, str], ...]
    triggers: tuple[tuple[str, str, int], ...]  # trigger, triggered_by, weight
    duration_ms: tuple[int, int]  # median, spread (log-normal)
    payload: Callable[[random.Random, datetime], tuple[dict, dict]]
    flaw: Callable[[random.Random, dict], tuple[dict, str] | None]
    flaw_rate: float
    files: Callable[[dict, dict | None, dict], list[dict]]
    errors: tuple[str, ...]
    csv_name: str | None = None
    csv: Callable[[dict], str] | None = None


# Each automation's generators, by ref; its texts and numbers are in demo/data/automations.json.
GENERATORS = {
    "workflows.extract-invoice": {"payload": invoice_payload, "flaw": invoice_flaw, "files": invoice_files,
                                  "csv": invoice_csv},
    "workflows.extract-statement": {"payload": statement_payload, "flaw": statement_flaw, "files": statement_files,
                                    "csv": statement_csv},
    "agents.triage-email": {"payload": triage_payload, "flaw": triage_flaw, "files": triage_files, "csv": None},
}


def _load_automations(path: Path) -> tuple[tuple[str, ...], tuple[DemoAutomation, ...]]:
    """(common errors, automations) of `path`, in the file's order (the order weighs the draw in
    demo_runs()); each automation's errors are the common ones followed by its own."""
    data = json.loads(path.read_text(encoding="utf-8"))
    common = tuple(data["common_errors"])
    automations = tuple(
        DemoAutomation(
            ref=spec["ref"], name=spec["name"], description=spec["description"], share=spec["share"],
            rates=tuple((r["days_ago"], r["rate_bp"], r["reason"]) for r in spec["rates"]),
            triggers=tuple((t["trigger"], t["triggered_by"], t["weight"]) for t in spec["triggers"]),
            duration_ms=(spec["duration_ms"]["median"], spec["duration_ms"]["spread"]),
            flaw_rate=spec["flaw_rate"], errors=common + tuple(spec["errors"]), csv_name=spec["csv_name"],
            **GENERATORS[spec["ref"]],
        )
        for spec in data["automations"]
    )
    return common, automations


COMMON_ERRORS, AUTOMATIONS = _load_automations(Path(__file__).with_name("data") / "automations.json")
V4_ROLLOUT_DAYS_AGO = 10
MODELS = {"v3": "gpt-4.1-mini", "v4": "claude-sonnet-4"}
# Traffic by hour of day (UTC): quiet nights, a business-day hump.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 9, 10, 10, 9, 7, 5, 4, 3, 2, 2, 1)


@dataclass
class DemoRun:
    record: dict
    automation: DemoAutomation
    truth: dict | None = None  # the correct output, when `record["output"]` holds a planted mistake
    flaw: str | None = None
    payload: dict | None = None  # what the source document says (also for failed runs)

    def attach_files(self) -> None:
        """Add the run's files (source PDF, CSV, JSON, chart) to its record."""
        self.record["files"] = self.automation.files(self.record["input"], self.record["output"], self.payload)
        self.record.setdefault("steps", demo_steps(self.automation, self.record))


def random_created_at(rng: random.Random, now: datetime, days: int) -> datetime:
    """A moment in the last `days` days, shaped like business traffic (never in the future)."""
    day = now - timedelta(days=rng.randint(0, days - 1))
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    moment = day.replace(hour=hour, minute=rng.randint(0, 59), second=rng.randint(0, 59),
                         microsecond=rng.randint(0, 999_999))
    if moment > now:
        moment -= timedelta(days=1)
    if moment < now - timedelta(days=days):
        moment = now - timedelta(days=days) + timedelta(seconds=rng.randint(60, 3600))
    return moment


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def pick_status(rng: random.Random, created_at: datetime, now: datetime) -> str:
    """~91 % completed, ~6 % failed, ~2 % cancelled; runs from the last two hours may still run."""
    if now - created_at < timedelta(hours=2) and rng.random() < 0.35:
        return "running"
    return rng.choices(("completed", "failed", "cancelled"), weights=(92, 6, 2))[0]


def demo_run(automation: DemoAutomation, rng: random.Random, *, run_id: str, created_at: datetime,
             now: datetime, with_files: bool) -> DemoRun:
    """One production-like run of `automation` created at `created_at`."""
    run_input, truth = automation.payload(rng, created_at)
    status = pick_status(rng, created_at, now)
    trigger, triggered_by, _ = rng.choices(automation.triggers, weights=[t[2] for t in automation.triggers])[0]
    version = _version(rng, created_at, now)
    median, spread = automation.duration_ms
    duration = int(median * math.exp(rng.gauss(0, math.log(spread) / 2)))
    started = created_at + timedelta(milliseconds=rng.randint(40, 900))
    output, error, flaw, expected, duration = _outcome(automation, rng, status, truth, triggered_by, duration)
    finished = status != "running"
    completed = min(started + timedelta(milliseconds=duration), now) if finished else None
    usage = _usage(automation, rng, version)
    record = {
        "id": run_id,
        "automation": automation.ref,
        "status": status,
        "trigger": trigger,
        "triggeredBy": triggered_by,
        "version": version,
        "input": run_input,
        "output": output,
        "error": error,
        "createdAt": _iso(created_at),
        "startedAt": _iso(started),
        "completedAt": _iso(completed),
        "durationMs": duration if finished else None,
        "batchId": f"batch_{created_at:%Y%m%d}_0600" if trigger == "cron" else None,
        "usage": usage if finished else None,
        "metadata": {"region": rng.choice(("eu-central-1", "eu-west-1", "us-east-1")),
                     "traceId": f"{rng.getrandbits(64):016x}"},
    }
    if with_files or status == "failed":
        record["steps"] = demo_steps(automation, record)
    if status == "completed":
        record["scores"] = [judge_score(run_id, flawed=flaw is not None)]
        confidence = demo_field_confidence(run_id, output, expected)
        if confidence:
            record["fieldMetadata"] = confidence
    run = DemoRun(record=record, automation=automation, truth=expected, flaw=flaw, payload=truth)
    if with_files:
        run.attach_files()
    return run


def _version(rng: random.Random, created_at: datetime, now: datetime) -> str:
    """v4 for most runs since its rollout, a few canary runs before; v3 otherwise."""
    rollout = now - timedelta(days=V4_ROLLOUT_DAYS_AGO)
    return "v4" if rng.random() < (0.85 if created_at >= rollout else 0.04) else "v3"


def _outcome(automation: DemoAutomation, rng: random.Random, status: str, truth, triggered_by: str,
             duration: int) -> tuple:
    """(output, error, flaw, expected, duration) of a run that ended with `status`: a completed
    run is sometimes flawed (its truth is then the expected output), a failed one has an error."""
    if status == "completed" and rng.random() < automation.flaw_rate:
        flawed = automation.flaw(rng, truth)
        if flawed:
            return flawed[0], None, flawed[1], truth, duration
    elif status == "failed":
        error = rng.choice(automation.errors)
        return None, error, None, None, (min(duration, 120_000) if "Timeout" not in error
                                          else 120_000 * 3 + rng.randint(0, 900))
    elif status == "cancelled":
        by = triggered_by if "@" in triggered_by else "an operator"
        return None, f"Cancelled by {by}.", None, None, rng.randint(300, duration)
    elif status == "running":
        return None, None, None, None, duration
    return truth, None, None, None, duration


def _usage(automation: DemoAutomation, rng: random.Random, version: str) -> dict:
    tokens_in = rng.randint(1800, 9000) if automation.ref != "agents.triage-email" else rng.randint(900, 4000)
    tokens_out = rng.randint(200, 1600)
    return {"model": MODELS[version], "inputTokens": tokens_in, "outputTokens": tokens_out,
            "costUsd": round(tokens_in * 0.4e-6 + tokens_out * 1.6e-6, 6)}


STEP_PLANS = {
    "agents.triage-email": (("read thread", "tool"), ("classify intent", "llm"), ("crm.lookup_contact", "tool"),
                            ("draft reply", "llm"), ("route ticket", "tool")),
}
EXTRACTION_STEPS = (("fetch document", "tool"), ("ocr", "tool"), ("extract fields", "llm"), ("validate totals", "code"),
                    ("store result", "tool"))


def demo_steps(automation: DemoAutomation, record: dict) -> list[dict]:
    """The steps a run took, timed within the run; a failed run fails in a middle step and skips
    the rest. Drawn from the run id, so adding steps leaves the other demo data as it was."""
    rng = random.Random(record["id"])
    plan = STEP_PLANS.get(automation.ref, EXTRACTION_STEPS)
    started = datetime.fromisoformat(record["startedAt"].replace("Z", "+00:00"))
    total = record["durationMs"] or 1000
    shares = [rng.uniform(0.5, 1.5) * (3 if kind == "llm" else 1) for _, kind in plan]
    failing = rng.randint(1, len(plan) - 2) if record["status"] == "failed" else None
    steps, moment = [], started
    for index, share in enumerate(shares):
        took = timedelta(milliseconds=int(total * share / sum(shares)))
        steps.append(_demo_step(rng, plan, index, record, failing, moment, took))
        moment += took
    return steps


def _demo_step(rng: random.Random, plan, index: int, record: dict, failing: int | None, moment: datetime,
               took: timedelta) -> dict:
    """Step `index` of `plan`: skipped after the failing one, failed at it, else completed."""
    name, kind = plan[index]
    if failing is not None and index > failing:
        return {"name": name, "type": kind, "status": "skipped"}
    step = {"name": name, "type": kind, "status": "completed", "startedAt": _iso(moment),
            "completedAt": _iso(moment + took)}
    if index == failing:
        step.update(status="failed", error=record["error"], output=None,
                    input={"from": plan[index - 1][0], "attempt": 1})
        return step
    step.update(input={"from": plan[index - 1][0]} if index else {"input": sorted(record["input"])[:3]},
                output={"ok": True, "tokens": rng.randint(50, 900)} if kind == "llm" else {"ok": True})
    if index == len(plan) - 1 and record["output"] is not None:
        step["output"] = {"stored": True, "keys": sorted(record["output"])[:6]}
    return step
def judge_score(run_id: str, *, flawed: bool) -> dict:
    """An LLM judge's score that usually agrees with the truth: it misses about one flaw in five
    and flags about one good run in fifteen, so the Evaluators page has disagreements to show.
    Seeded by the run id, so adding it leaves the rest of the demo's random stream unchanged."""
    rng = random.Random(run_id)
    wrong = rng.random() < (0.2 if flawed else 0.07)
    high = flawed == wrong
    value = rng.uniform(0.55, 0.98) if high else rng.uniform(0.05, 0.45)
    return {"name": "llm-judge", "value": round(value, 3), "source": "llm"}


def run_id_for(rng: random.Random) -> str:
    return f"run_{rng.getrandbits(72):018x}"


def demo_runs(*, count: int, seed: int = 7, now: datetime | None = None, days: int = 30,
              files_ratio: float = 0.2) -> Iterator[DemoRun]:
    """`count` runs over the demo automations in the last `days` days, oldest first.

    About `files_ratio` of the runs carry files (source PDF, CSV, JSON, PNG); the rest are
    JSON only, so large counts stay cheap.
    """
    rng = random.Random(seed)
    now = now or timezone.now()
    moments = sorted(random_created_at(rng, now, days) for _ in range(count))
    weights = [a.share for a in AUTOMATIONS]
    for created_at in moments:
        automation = rng.choices(AUTOMATIONS, weights=weights)[0]
        yield demo_run(automation, rng, run_id=run_id_for(rng), created_at=created_at, now=now,
                       with_files=rng.random() < files_ratio)
