"""Realistic, production-like run records for the demo and for volume seeding.

Three automations, each with plausible inputs and outputs whose numbers add up:

- `workflows.extract-invoice`: a vendor invoice PDF -> vendor, dates, totals, line items;
- `workflows.extract-statement`: a bank statement PDF -> account, period, balances, transactions;
- `agents.triage-email`: an inbound e-mail -> category, priority, summary, entities, reply, route.

`demo_runs()` yields `DemoRun`s: a record in the runs/records.py shape plus, when the
generator planted a realistic model mistake (a dropped line item, a total without tax, a
wrong category...), the correct output (`truth`) a reviewer would write as the expected
output. Everything is drawn from one `random.Random(seed)`, so a seed and a `now` give the
same runs every time. The loader that writes them (with reviews) is runs/demo_load.py.
"""

import base64
import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from runs.demo_files import csv_text, pdf_document, png_bar_chart

# --------------------------------------------------------------------------- helpers


def _money(cents: int) -> float:
    return round(cents / 100, 2)


def _fmt(cents: int, currency: str = "") -> str:
    text = f"{cents / 100:,.2f}"
    return f"{text} {currency}".strip()


def _swap_day_month(day: date) -> date | None:
    """The date a model produces when it reads 03/07 the American way (None when impossible)."""
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month)


def _iban(country: str, bban: str) -> str:
    """An IBAN with valid ISO 13616 check digits."""
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    raw = f"{country}{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- invoices


@dataclass(frozen=True)
class Vendor:
    name: str
    vat_id: str | None
    address: str
    currency: str
    tax_percent: int
    number_format: str
    catalogue: tuple[tuple[str, int, int, int, int], ...]  # description, min/max unit price (cents), min/max qty


OFFICE = (
    ("Copy paper A4, 80 g/m², 500 sheets", 420, 690, 5, 40),
    ("Toner cartridge HP 59A, black", 8900, 12900, 1, 4),
    ("Ballpoint pens, blue, box of 50", 1290, 1890, 1, 5),
    ("Lever arch files, 80 mm", 290, 450, 10, 60),
    ("Desk organiser, mesh", 1490, 2490, 1, 6),
    ("Sticky notes 76×76 mm, 12 pads", 690, 990, 2, 10),
    ("Delivery charge", 595, 995, 1, 1),
)
FOOD = (
    ("Chai tea, 10 boxes × 20 bags", 1800, 1800, 2, 12),
    ("Chef Anton's Cajun Seasoning, 48 jars", 2200, 2200, 1, 6),
    ("Aniseed Syrup, 12 × 550 ml bottles", 1000, 1000, 1, 10),
    ("Gnocchi di nonna Alice, 24 × 250 g", 3800, 3800, 1, 5),
    ("Sir Rodney's Scones, 24 packs", 1000, 1000, 2, 20),
    ("Manjimup Dried Apples, 50 × 300 g", 5300, 5300, 1, 3),
)
LOGISTICS = (
    ("Pallet storage, per pallet-week", 350, 520, 20, 240),
    ("Outbound handling, per order", 180, 260, 50, 900),
    ("Road freight Rotterdam–Duisburg, FTL", 68000, 94000, 1, 4),
    ("Customs clearance fee", 4500, 7500, 1, 3),
    ("Fuel surcharge", 2500, 9000, 1, 1),
)
SOFTWARE = (
    ("Compute: 4 vCPU / 16 GB instance, 730 h", 14016, 14016, 1, 12),
    ("Object storage, hot tier, per TB-month", 2080, 2080, 1, 40),
    ("Support plan: Business, monthly", 10000, 10000, 1, 1),
    ("Egress traffic, per TB", 8700, 8700, 1, 9),
    ("Managed PostgreSQL, 4 vCores, monthly", 36500, 36500, 1, 3),
)
ELECTRICAL = (
    ("Installation work, electrician, per hour", 6800, 7900, 2, 24),
    ("NYM-J 3×1.5 mm² cable, 100 m", 8900, 11900, 1, 6),
    ("Circuit breaker B16", 450, 690, 2, 24),
    ("RCD 40 A / 30 mA", 3200, 4800, 1, 4),
    ("Travel flat rate", 4500, 4500, 1, 1),
)
COFFEE = (
    ("Espresso blend 'Midnatt', 1 kg", 28900, 32900, 2, 20),
    ("Filter roast Ethiopia Yirgacheffe, 1 kg", 34900, 38900, 1, 10),
    ("Oat milk Barista, 12 × 1 l", 25900, 27900, 1, 8),
    ("Machine descaling service", 89000, 89000, 1, 1),
    ("Paper cups 8 oz, 1000 pcs", 64900, 69900, 1, 5),
)
PRINT = (
    ("Business cards, 350 g, 500 pcs", 3900, 5900, 1, 12),
    ("Flyers A5, 4/4 colour, 5000 pcs", 14900, 19900, 1, 4),
    ("Roll-up banner 85 × 200 cm", 8900, 12900, 1, 6),
    ("Design proof, per hour", 6500, 6500, 1, 6),
    ("Express shipping", 1900, 3900, 1, 1),
)
DESIGN = (
    ("Brand workshop, half day", 120000, 120000, 1, 2),
    ("Logo design, three concepts", 250000, 250000, 1, 1),
    ("Icon set, 24 icons", 96000, 96000, 1, 1),
    ("Revisions, per hour", 9500, 9500, 1, 12),
    ("Stock photo licences", 2900, 4900, 3, 20),
)
CONSULTING = (
    ("Senior consultant, per day", 1250000, 1450000, 1, 10),
    ("Architecture review", 3800000, 3800000, 1, 1),
    ("Travel expenses Oslo–Bergen", 180000, 420000, 1, 2),
    ("Kubernetes upgrade, fixed price", 6500000, 6500000, 1, 1),
    ("On-call support, monthly", 900000, 900000, 1, 1),
)

VENDORS = (
    Vendor("Acme Office Supplies GmbH", "DE284719305", "Friedrichstraße 123, 10117 Berlin, Germany",
           "EUR", 19, "RE-{year}-{n:05d}", OFFICE),
    Vendor("Northwind Traders Ltd", "GB293847561", "14 Wharf Road, London N1 7GR, United Kingdom",
           "GBP", 20, "NW{n:06d}", FOOD),
    Vendor("Blue Harbor Logistics B.V.", "NL859302174B01", "Waalhaven Z.z. 42, 3089 JH Rotterdam, Netherlands",
           "EUR", 21, "BHL-{year}{n:04d}", LOGISTICS),
    Vendor("Papeterie Dubois SARL", "FR47823901245", "18 rue des Archives, 75004 Paris, France",
           "EUR", 20, "F{year}/{n:04d}", OFFICE),
    Vendor("Contoso Cloud Services Inc.", None, "500 Howard Street, San Francisco, CA 94105, USA",
           "USD", 0, "INV-{n:07d}", SOFTWARE),
    Vendor("Müller Elektrotechnik GmbH", "DE193847562", "Industriestraße 7, 80939 München, Germany",
           "EUR", 19, "{year}-{n:05d}", ELECTRICAL),
    Vendor("Nordic Coffee Roasters AB", "SE556712345601", "Hornsgatan 58, 118 21 Stockholm, Sweden",
           "SEK", 25, "NCR{n:05d}", COFFEE),
    Vendor("Iberia Print S.L.", "ESB86421973", "Calle de Alcalá 210, 28028 Madrid, Spain",
           "EUR", 21, "IP-{year}-{n:04d}", PRINT),
    Vendor("Studio Rossi S.r.l.", "IT09876543210", "Via Tortona 27, 20144 Milano, Italy",
           "EUR", 22, "{n:03d}/{year}", DESIGN),
    Vendor("Fjordline IT Consulting AS", "NO987654321MVA", "Karl Johans gate 16, 0154 Oslo, Norway",
           "NOK", 25, "FIT-{n:05d}", CONSULTING),
)
ITEM_COUNT_WEIGHTS = (6, 14, 18, 16, 12, 9, 7, 5, 4, 3, 2, 2)  # 1..12 line items
CUSTOMERS = tuple(f"cus_{n:05d}" for n in (10482, 10977, 11305, 12044, 12781, 13390, 14012, 14458, 15120, 15906))


def invoice_payload(rng: random.Random, created_at: datetime) -> tuple[dict, dict]:
    vendor = rng.choice(VENDORS)
    count = rng.choices(range(1, len(ITEM_COUNT_WEIGHTS) + 1), weights=ITEM_COUNT_WEIGHTS)[0]
    picks = rng.sample(vendor.catalogue, min(count, len(vendor.catalogue)))
    while len(picks) < count:  # long invoices repeat items on several lines (different projects, dates)
        picks.append(rng.choice(vendor.catalogue))
    items, subtotal = [], 0
    for description, low, high, qmin, qmax in picks:
        unit = rng.randint(low // 10, high // 10) * 10 if high > low else low
        quantity = rng.randint(qmin, qmax)
        amount = unit * quantity
        subtotal += amount
        items.append({"description": description, "quantity": quantity, "unit_price": _money(unit),
                      "amount": _money(amount)})
    tax = round(subtotal * vendor.tax_percent / 100)
    invoice_day = created_at.date() - timedelta(days=rng.randint(0, 9))
    number = vendor.number_format.format(year=invoice_day.year, n=rng.randint(40, 99999))
    output = {
        "vendor": {"name": vendor.name, "vat_id": vendor.vat_id, "address": vendor.address},
        "invoice_number": number,
        "invoice_date": invoice_day.isoformat(),
        "due_date": (invoice_day + timedelta(days=rng.choice((14, 30, 30, 30, 45, 60)))).isoformat(),
        "currency": vendor.currency,
        "subtotal": _money(subtotal),
        "tax": _money(tax),
        "total": _money(subtotal + tax),
        "line_items": items,
    }
    file_name = f"{number.replace('/', '-')}.pdf"
    run_input = {"document": {"$file": f"input/{file_name}"}, "customer": rng.choice(CUSTOMERS)}
    return run_input, output


def invoice_flaw(rng: random.Random, truth: dict) -> tuple[dict, str] | None:
    out = json.loads(json.dumps(truth))
    options = ["dropped_line_item", "wrong_amount"] if len(out["line_items"]) > 1 else ["wrong_amount"]
    if out["tax"]:
        options += ["total_without_tax", "total_without_tax"]
    if _swap_day_month(date.fromisoformat(out["invoice_date"])):
        options.append("swapped_date")
    if out["vendor"]["vat_id"]:
        options.append("vat_id_digit")
    flaw = rng.choice(options)
    if flaw == "dropped_line_item":
        out["line_items"].pop()
    elif flaw == "wrong_amount":  # a thousands separator read as a decimal point
        item = rng.choice(out["line_items"])
        item["amount"] = round(item["amount"] / 10, 2)
    elif flaw == "total_without_tax":
        out["total"] = out["subtotal"]
    elif flaw == "swapped_date":
        out["invoice_date"] = _swap_day_month(date.fromisoformat(out["invoice_date"])).isoformat()
    else:
        vat = out["vendor"]["vat_id"]
        cut = rng.randint(3, len(vat) - 2)
        out["vendor"]["vat_id"] = vat[:cut] + vat[cut + 1 :]
    return out, flaw


def invoice_csv(output: dict) -> str:
    rows = [[i["description"], i["quantity"], f"{i['unit_price']:.2f}", f"{i['amount']:.2f}"]
            for i in output["line_items"]]
    return csv_text(["description", "quantity", "unit_price", "amount"], rows)


def invoice_files(run_input: dict, output: dict | None, truth: dict) -> list[dict]:
    """The source PDF (rendered from the true values) and, when extracted, a CSV and the JSON."""
    v, cur = truth["vendor"], truth["currency"]
    lines = [("F2", 16, v["name"]), ("F1", 10, v["address"])]
    if v["vat_id"]:
        lines.append(("F1", 10, f"VAT ID {v['vat_id']}"))
    lines += [
        ("F1", 10, ""),
        ("F2", 13, f"INVOICE {truth['invoice_number']}"),
        ("F1", 10, f"Invoice date: {truth['invoice_date']}    Due date: {truth['due_date']}"),
        ("F1", 10, f"Customer: {run_input['customer']}"),
        ("F1", 10, ""),
        ("F3", 9, f"{'Description':<44}{'Qty':>5}{'Unit price':>13}{'Amount':>14}"),
    ]
    for item in truth["line_items"]:
        lines.append(("F3", 9, f"{item['description'][:43]:<44}{item['quantity']:>5}"
                               f"{item['unit_price']:>13,.2f}{item['amount']:>14,.2f}"))
    lines += [
        ("F1", 10, ""),
        ("F3", 9, f"{'Subtotal':>62}{truth['subtotal']:>14,.2f}"),
        ("F3", 9, f"{'Tax':>62}{truth['tax']:>14,.2f}"),
        ("F2", 11, f"Total due: {truth['total']:,.2f} {cur}"),
    ]
    pdf_name = run_input["document"]["$file"].removeprefix("input/")
    files = [{"name": pdf_name, "role": "input", "contentType": "application/pdf",
              "base64": _b64(pdf_document(lines, title=f"Invoice {truth['invoice_number']}"))}]
    if output is not None:
        files.append({"name": "line_items.csv", "role": "output", "contentType": "text/csv",
                      "text": invoice_csv(output)})
        files.append({"name": "invoice.json", "role": "output", "contentType": "application/json",
                      "json": output})
    return files


# --------------------------------------------------------------------------- bank statements

BANKS = (
    ("Deutsche Bank", "DE", lambda r: f"10070000{r.randint(0, 9_999_999_999):010d}", "EUR"),
    ("Commerzbank", "DE", lambda r: f"20040000{r.randint(0, 9_999_999_999):010d}", "EUR"),
    ("Sparkasse KölnBonn", "DE", lambda r: f"37050198{r.randint(0, 9_999_999_999):010d}", "EUR"),
    ("ING Bank", "NL", lambda r: f"INGB{r.randint(0, 9_999_999_999):010d}", "EUR"),
    ("ABN AMRO", "NL", lambda r: f"ABNA{r.randint(0, 9_999_999_999):010d}", "EUR"),
    ("Barclays", "GB", lambda r: f"BARC20{r.randint(0, 9999):04d}{r.randint(0, 99_999_999):08d}", "GBP"),
)
HOLDERS = ("Lena Fischer", "Tom de Vries", "Kowalski Bau GmbH", "Café Lindqvist", "Jan Jansen",
           "Studio Aurora UG", "Priya Raman", "Brightwater Dental Ltd", "Markus Weber", "Sophie Laurent")
# description, category, min and max amount in cents (negative: money out)
MERCHANTS = (
    ("Card payment REWE Markt, Berlin", "groceries", -1500, -14000),
    ("Card payment ALDI SÜD", "groceries", -800, -9000),
    ("Card payment Albert Heijn 1432", "groceries", -700, -8500),
    ("Card payment Deutsche Bahn Fernverkehr", "travel", -1990, -18900),
    ("Card payment KLM Royal Dutch Airlines", "travel", -8900, -54000),
    ("Card payment Uber BV", "travel", -900, -4500),
    ("Card payment Shell, Utrechtseweg", "fuel", -3000, -9500),
    ("Card payment Amazon EU S.à r.l.", "shopping", -999, -25000),
    ("Direct debit Spotify AB", "subscriptions", -1099, -1099),
    ("Direct debit Netflix International B.V.", "subscriptions", -1399, -1799),
    ("Direct debit Stadtwerke München GmbH", "utilities", -6500, -18000),
    ("Direct debit Vodafone GmbH", "utilities", -2999, -5999),
    ("Card payment Lieferando", "restaurants", -1800, -6500),
    ("Card payment Café Einstein", "restaurants", -650, -3200),
    ("Refund Zalando SE", "refund", 1995, 12990),
    ("ATM withdrawal", "cash", -2000, -20000),
    ("Transfer to savings account", "transfer", -10000, -100000),
    ("Incoming transfer, customer payment", "income", 25000, 480000),
)
PERIOD_TRANSACTIONS = {6: (4, 10), 13: (8, 18), 29: (15, 35)}


def statement_payload(rng: random.Random, created_at: datetime) -> tuple[dict, dict]:
    bank, country, bban, currency = rng.choice(BANKS)
    holder = rng.choice(HOLDERS)
    span = rng.choice((6, 13, 29, 29))
    end = created_at.date() - timedelta(days=rng.randint(1, 4))
    start = end - timedelta(days=span)
    low, high = PERIOD_TRANSACTIONS[span]
    moves = []
    if span == 29:  # monthly statements carry the fixed monthly items
        moves.append((start + timedelta(days=rng.randint(0, 3)), "Standing order rent, Hausverwaltung Schmidt",
                      "rent", -rng.randint(950, 1650) * 100))
        employer = rng.choice(("ACME GmbH", "Globex B.V.", "Initech Ltd"))
        moves.append((start + timedelta(days=rng.randint(24, 28)), f"Salary {employer}",
                      "income", rng.randint(2800, 5200) * 100))
        moves.append((end, "Account maintenance fee", "fees", -rng.choice((490, 690, 990))))
    for _ in range(rng.randint(low, high) - len(moves)):
        description, category, a, b = rng.choice(MERCHANTS)
        cents = rng.randint(min(a, b), max(a, b))
        if category == "cash":
            cents = cents // 1000 * 1000
        moves.append((start + timedelta(days=rng.randint(0, span)), description, category, cents))
    moves.sort(key=lambda m: m[0])
    opening = rng.randint(50_000, 1_500_000)
    balance, transactions = opening, []
    for day, description, category, cents in moves:
        balance += cents
        transactions.append({"date": day.isoformat(), "description": description, "amount": _money(cents),
                             "balance": _money(balance), "category": category})
    output = {
        "account": {"holder": holder, "iban": _iban(country, bban(rng)), "bank": bank},
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "opening_balance": _money(opening),
        "closing_balance": _money(balance),
        "currency": currency,
        "transactions": transactions,
    }
    run_input = {"document": {"$file": f"input/statement-{end:%Y-%m}-{rng.randint(100, 999)}.pdf"},
                 "customer": rng.choice(CUSTOMERS)}
    return run_input, output


def statement_flaw(rng: random.Random, truth: dict) -> tuple[dict, str] | None:
    out = json.loads(json.dumps(truth))
    if len(out["transactions"]) < 3:
        return None
    flaw = rng.choice(("dropped_transaction", "dropped_transaction", "sign_flipped", "closing_balance"))
    if flaw == "dropped_transaction":  # a transaction at a page break, typically
        out["transactions"].pop(rng.randint(1, len(out["transactions"]) - 2))
    elif flaw == "sign_flipped":
        item = rng.choice(out["transactions"])
        item["amount"] = -item["amount"]
    else:  # the balance before the last line was read as the closing balance
        out["closing_balance"] = out["transactions"][-2]["balance"]
    return out, flaw


def statement_csv(output: dict) -> str:
    rows = [[t["date"], t["description"], f"{t['amount']:.2f}", f"{t['balance']:.2f}", t["category"]]
            for t in output["transactions"]]
    return csv_text(["date", "description", "amount", "balance", "category"], rows)


def statement_files(run_input: dict, output: dict | None, truth: dict) -> list[dict]:
    a, cur = truth["account"], truth["currency"]
    lines = [
        ("F2", 15, a["bank"]),
        ("F1", 10, f"Account statement {truth['period']['from']} – {truth['period']['to']}"),
        ("F1", 10, f"Account holder: {a['holder']}    IBAN: {a['iban']}"),
        ("F1", 10, ""),
        ("F3", 9, f"{'Opening balance':<64}{truth['opening_balance']:>14,.2f}"),
        ("F3", 9, f"{'Date':<12}{'Description':<44}{'Amount':>11}{'Balance':>11}"),
    ]
    for t in truth["transactions"]:
        lines.append(("F3", 8, f"{t['date']:<12}{t['description'][:43]:<44}"
                               f"{t['amount']:>11,.2f}{t['balance']:>11,.2f}"))
    lines.append(("F2", 10, f"Closing balance: {truth['closing_balance']:,.2f} {cur}"))
    pdf_name = run_input["document"]["$file"].removeprefix("input/")
    files = [{"name": pdf_name, "role": "input", "contentType": "application/pdf",
              "base64": _b64(pdf_document(lines, title=f"Statement {a['iban']}"))}]
    if output is not None:
        files += [
            {"name": "transactions.csv", "role": "output", "contentType": "text/csv", "text": statement_csv(output)},
            {"name": "statement.json", "role": "output", "contentType": "application/json", "json": output},
            {"name": "balance.png", "role": "report", "contentType": "image/png",
             "base64": _b64(png_bar_chart([t["balance"] for t in output["transactions"]]))},
        ]
    return files


# --------------------------------------------------------------------------- e-mail triage

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


COMMON_ERRORS = (
    "TimeoutError: model call exceeded 120 s (attempt 3 of 3).",
    "RateLimitError: provider returned 429 Too Many Requests; retries exhausted after 5 attempts.",
)
AUTOMATIONS = (
    DemoAutomation(
        ref="workflows.extract-invoice", name="Extract invoice",
        description="Reads a vendor invoice PDF and returns vendor, dates, totals and line items.",
        share=0.45,
        rates=((30, 1500, "Initial rate"),
               (12, 1000, "Pass rate above 96 % for two weeks (lower bound 94 %); stepping down.")),
        triggers=(("email", "ap-inbox@northwind.example", 50), ("api", "key:erp-connector", 40),
                  ("manual", "maya@northwind.example", 10)),
        duration_ms=(6500, 2),
        payload=invoice_payload, flaw=invoice_flaw, flaw_rate=0.12, files=invoice_files,
        errors=COMMON_ERRORS + (
            "DocumentError: input/invoice.pdf is password-protected; cannot extract text.",
            "OCRError: page 1 has no extractable text (scanned at 96 dpi, minimum 150 dpi).",
            "SchemaValidationError: output.line_items[3].amount: expected number, got string '1.290,00'.",
            "ValueError: could not parse invoice_date '31/02/2026'.",
        ),
        csv_name="line_items.csv", csv=invoice_csv,
    ),
    DemoAutomation(
        ref="workflows.extract-statement", name="Extract bank statement",
        description="Reads a bank statement PDF and returns the account, period, balances and transactions.",
        share=0.25,
        rates=((30, 1500, "Initial rate"),),
        triggers=(("cron", "cron:0 6 * * *", 60), ("api", "key:erp-connector", 30),
                  ("manual", "sam@northwind.example", 10)),
        duration_ms=(14000, 2),
        payload=statement_payload, flaw=statement_flaw, flaw_rate=0.10, files=statement_files,
        errors=COMMON_ERRORS + (
            "DocumentError: input/statement.pdf has 48 pages; the limit is 40.",
            "ReconciliationError: opening balance + transactions (12,480.17) does not equal the closing "
            "balance (12,380.17).",
            "UnsupportedFormat: MT940 attachments are not supported yet; send a PDF statement.",
        ),
        csv_name="transactions.csv", csv=statement_csv,
    ),
    DemoAutomation(
        ref="agents.triage-email", name="Triage support e-mail",
        description="Classifies an inbound e-mail, extracts entities, drafts a reply and picks a queue.",
        share=0.30,
        rates=((30, 500, "Initial rate"),),
        triggers=(("email", "support@northwind.example", 90), ("manual", "priya@northwind.example", 5),
                  ("api", "key:helpdesk", 5)),
        duration_ms=(3200, 2),
        payload=triage_payload, flaw=triage_flaw, flaw_rate=0.15, files=triage_files,
        errors=COMMON_ERRORS + (
            "ToolError: crm.lookup_contact failed: 503 Service Unavailable.",
            "ContextLengthExceeded: the e-mail thread has 143,208 tokens; the model limit is 128,000.",
            "MaxStepsExceeded: the agent stopped after 12 steps without a final answer.",
        ),
    ),
)
AUTOMATIONS_BY_REF = {a.ref: a for a in AUTOMATIONS}
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
    rollout = now - timedelta(days=V4_ROLLOUT_DAYS_AGO)
    version = "v4" if rng.random() < (0.85 if created_at >= rollout else 0.04) else "v3"
    median, spread = automation.duration_ms
    duration = int(median * math.exp(rng.gauss(0, math.log(spread) / 2)))
    started = created_at + timedelta(milliseconds=rng.randint(40, 900))
    output, error, flaw, expected = truth, None, None, None
    if status == "completed" and rng.random() < automation.flaw_rate:
        flawed = automation.flaw(rng, truth)
        if flawed:
            output, flaw = flawed
            expected = truth
    elif status == "failed":
        output, error = None, rng.choice(automation.errors)
        duration = min(duration, 120_000) if "Timeout" not in error else 120_000 * 3 + rng.randint(0, 900)
    elif status == "cancelled":
        output, error = None, f"Cancelled by {triggered_by if '@' in triggered_by else 'an operator'}."
        duration = rng.randint(300, duration)
    elif status == "running":
        output = None
    finished = status != "running"
    completed = started + timedelta(milliseconds=duration) if finished else None
    if completed and completed > now:
        completed = now
    tokens_in = rng.randint(1800, 9000) if automation.ref != "agents.triage-email" else rng.randint(900, 4000)
    tokens_out = rng.randint(200, 1600)
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
        "usage": {"model": MODELS[version], "inputTokens": tokens_in, "outputTokens": tokens_out,
                  "costUsd": round(tokens_in * 0.4e-6 + tokens_out * 1.6e-6, 6)} if finished else None,
        "metadata": {"region": rng.choice(("eu-central-1", "eu-west-1", "us-east-1")),
                     "traceId": f"{rng.getrandbits(64):016x}"},
    }
    run = DemoRun(record=record, automation=automation, truth=expected, flaw=flaw, payload=truth)
    if with_files:
        run.attach_files()
    return run


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
