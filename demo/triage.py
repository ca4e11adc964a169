"""Demo e-mail triage: people, categories, the classification payload, typical flaws."""

import json
import random
from datetime import datetime, timedelta

PEOPLE = (("Hannah", "Becker", "hannah.becker@brightwater-dental.co.uk"),
          ("Luis", "Ortega", "l.ortega@iberia-print.es"),
          ("Mei", "Tanaka", "mei.tanaka@kumo-labs.jp"), ("Oliver", "Smith", "oliver@smith-joinery.com"),
          ("Fatima", "Haddad", "fatima.haddad@gmail.com"), ("Jonas", "Keller", "jonas.keller@kowalski-bau.de"),
          ("Amara", "Okafor", "amara@okafor-consulting.ng"), ("Pieter", "de Boer", "pieter.deboer@bluehr.nl"),
          ("Chloé", "Martin", "chloe.martin@papeterie-dubois.fr"), ("Sven", "Lindqvist", "sven@cafelindqvist.se"))
# category: (route_to, priority choices, (subject, body) templates, summary template)
TRIAGE = {
    "billing": ("billing", ("normal", "normal", "high"), (
        ("Invoice {invoice} charged twice",
         "Hi,\n\nour card was charged {amount} twice for invoice {invoice} on {day}. Could you refund the "
         "duplicate charge?\n\nThanks,\n{first}"),
        ("Question about invoice {invoice}",
         "Hello,\n\ninvoice {invoice} lists 25 seats but we only have 18 active users. Can you correct it "
         "before we pay? The amount due is {amount}.\n\nBest regards,\n{first} {last}"),
    ), "Customer reports a billing problem with invoice {invoice} ({amount}) and asks for a correction."),
    "technical_support": ("support-tier1", ("normal", "high", "urgent"), (
        ("CSV export fails with error 500",
         "Hi support,\n\nsince {day} every export to CSV ends with 'Error 500 - something went wrong'. "
         "This blocks our month-end close. Order reference {order}.\n\n{first}"),
        ("API returns 401 after key rotation",
         "Hello,\n\nafter rotating our API key yesterday all calls return 401 Unauthorized, even with the new "
         "key. We have {seats} users waiting. Please help asap.\n\n{first} {last}"),
        ("Can't log in since this morning",
         "Hi,\n\nnone of our {seats} users can log in since this morning; the page just reloads. "
         "Our order reference is {order}.\n\n{first}"),
    ), "Customer cannot use the product (login, export or API failure) and needs technical help."),
    "sales_inquiry": ("sales", ("low", "normal"), (
        ("Pricing for {seats} seats",
         "Hi there,\n\nwe're evaluating tools for our finance team of {seats} people. Do you offer annual "
         "billing or volume discounts?\n\nKind regards,\n{first} {last}"),
        ("Demo request for our finance team",
         "Hello,\n\ncould we book a 30-minute demo next week? We process about 2,000 invoices a month."
         "\n\n{first}"),
    ), "Prospect asks about pricing, annual plans or a demo for about {seats} seats."),
    "cancellation": ("retention", ("high",), (
        ("Please cancel our subscription",
         "Hello,\n\nplease cancel our subscription at the end of the current term. The tool no longer fits "
         "our workflow.\n\nRegards,\n{first} {last}"),
        ("Not renewing in {month}",
         "Hi,\n\nwe have decided not to renew in {month}. Please confirm the cancellation and that no "
         "further charges will be made.\n\n{first}"),
    ), "Customer wants to cancel their subscription and asks for confirmation."),
    "complaint": ("customer-success", ("high", "urgent"), (
        ("Very disappointed with order {order}",
         "Hello,\n\norder {order} arrived damaged and nobody answered my last two emails. I expect a "
         "replacement or a full refund of {amount}.\n\n{first} {last}"),
        ("Third time the delivery is late",
         "This is the third late delivery this quarter (latest: order {order}). If this happens again we "
         "will look for another supplier.\n\n{first}"),
    ), "Unhappy customer complains about order {order} and expects a refund or replacement."),
    "spam": ("none", ("low",), (
        ("Boost your SEO ranking today!!!",
         "Dear Sir/Madam,\n\nwe can put your website on page 1 of Google in 7 days. Reply YES for a free audit!"),
        ("You have (1) unclaimed reward",
         "Congratulations! You've been selected to receive a $500 gift card. Click here to claim."),
    ), "Unsolicited marketing e-mail; no action needed."),
    "partnership": ("partnerships", ("low", "normal"), (
        ("Integration partnership proposal",
         "Hi,\n\nI lead partnerships at {company}. Our customers keep asking for an integration with "
         "your product. Open to a call?\n\nBest,\n{first} {last}"),
        ("Co-marketing webinar in {month}?",
         "Hello,\n\n{company} would love to co-host a webinar with you in {month}. Interested?\n\n{first}"),
    ), "{company} proposes an integration or co-marketing partnership."),
}
CATEGORY_WEIGHTS = {"billing": 22, "technical_support": 30, "sales_inquiry": 14, "cancellation": 7,
                    "complaint": 9, "spam": 11, "partnership": 7}
COMPANIES = ("Kumo Labs", "Brightwater Dental", "Okafor Consulting", "Smith Joinery", "Blue HR")


def triage_payload(rng: random.Random, created_at: datetime) -> tuple[dict, dict]:
    category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    route, priorities, templates, summary = TRIAGE[category]
    first, last, address = rng.choice(PEOPLE)
    values = {
        "first": first, "last": last, "invoice": f"INV-{created_at.year}-{rng.randint(100, 9999):04d}",
        "order": f"SO-{rng.randint(100000, 999999)}",
        "amount": f"€{rng.randint(49, 4800):,}.{rng.randint(0, 99):02d}",
        "day": (created_at - timedelta(days=rng.randint(1, 6))).strftime("%d %B"),
        "seats": rng.choice((8, 15, 25, 50, 120)),
        "month": (created_at + timedelta(days=35)).strftime("%B"), "company": rng.choice(COMPANIES),
    }
    subject, body = (text.format(**values) for text in rng.choice(templates))
    received = created_at - timedelta(seconds=rng.randint(5, 600))
    entities = [{"type": "person", "value": f"{first} {last}"}, {"type": "email", "value": address}]
    for key, kind in (("invoice", "invoice_number"), ("order", "order_id"), ("amount", "amount")):
        if values[key] in body or values[key] in subject:
            entities.append({"type": kind, "value": values[key]})
    if category == "partnership":
        entities.append({"type": "organization", "value": values["company"]})
    reply = None
    if category != "spam":
        reply = (f"Hi {first},\n\nthank you for your message. I've passed it to our {route.replace('-', ' ')} team, "
                 f"who will get back to you within one business day.\n\nBest regards,\nThe Support Team")
    output = {
        "category": category,
        "priority": rng.choice(priorities),
        "summary": summary.format(**values),
        "entities": entities,
        "suggested_reply": reply,
        "route_to": route,
    }
    run_input = {"email": {"from": f"{first} {last} <{address}>", "subject": subject, "body": body,
                           "received_at": received.isoformat().replace("+00:00", "Z")}}
    return run_input, output


def triage_flaw(rng: random.Random, truth: dict) -> tuple[dict, str] | None:
    out = json.loads(json.dumps(truth))
    options = ["wrong_category", "priority_too_low"]
    if len(out["entities"]) > 2:
        options.append("missed_entity")
    flaw = rng.choice(options)
    if flaw == "wrong_category":
        wrong = rng.choice([c for c in TRIAGE if c != out["category"]])
        out["category"], out["route_to"] = wrong, TRIAGE[wrong][0]
    elif flaw == "priority_too_low":
        lower = {"urgent": "normal", "high": "normal", "normal": "low", "low": None}[out["priority"]]
        if lower is None:
            return None
        out["priority"] = lower
    else:
        out["entities"].pop()
    return out, flaw


def triage_files(run_input: dict, output: dict | None, truth: dict) -> list[dict]:
    """Agents leave a tool-call trace for debugging."""
    trace = {"steps": [
        {"tool": "crm.lookup_contact", "args": {"email": run_input["email"]["from"]}, "ms": 212},
        {"tool": "kb.search", "args": {"query": run_input["email"]["subject"]}, "ms": 388},
        {"tool": "final_answer", "args": {"category": (output or {}).get("category")}, "ms": 1},
    ]}
    return [{"name": "trace.json", "role": "debug", "contentType": "application/json", "json": trace}]
