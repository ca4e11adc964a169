"""Demo bank statements: banks, holders, transactions, typical flaws, files."""

import json
import random
from datetime import datetime, timedelta

from demo.files import csv_text, pdf_document, png_bar_chart
from demo.invoices import CUSTOMERS
from demo.values import b64, iban, money

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
        transactions.append({"date": day.isoformat(), "description": description, "amount": money(cents),
                             "balance": money(balance), "category": category})
    output = {
        "account": {"holder": holder, "iban": iban(country, bban(rng)), "bank": bank},
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "opening_balance": money(opening),
        "closing_balance": money(balance),
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
              "base64": b64(pdf_document(lines, title=f"Statement {a['iban']}"))}]
    if output is not None:
        files += [
            {"name": "transactions.csv", "role": "output", "contentType": "text/csv", "text": statement_csv(output)},
            {"name": "statement.json", "role": "output", "contentType": "application/json", "json": output},
            {"name": "balance.png", "role": "report", "contentType": "image/png",
             "base64": b64(png_bar_chart([t["balance"] for t in output["transactions"]]))},
        ]
    return files
