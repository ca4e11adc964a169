"""Demo invoices: vendors, the extraction payload, its typical flaws, its files.

The vendors and their catalogues are data, in demo/data/vendors.json (loaded once at import);
this module keeps the generators.
"""

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from demo.files import csv_text, pdf_document
from demo.values import b64, money, swap_day_month

DATA_DIR = Path(__file__).with_name("data")


@dataclass(frozen=True)
class Vendor:
    name: str
    vat_id: str | None
    address: str
    currency: str
    tax_percent: int
    number_format: str
    catalogue: tuple[tuple[str, int, int, int, int], ...]  # description, min/max unit price (cents), min/max qty


def _load_vendors(path: Path) -> tuple[Vendor, ...]:
    """The vendors of `path`, each with its named catalogue as a tuple of tuples (shared, as the
    same tuple, by vendors naming the same catalogue)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    catalogues = {
        name: tuple((item["description"], item["min_unit_price_cents"], item["max_unit_price_cents"],
                     item["min_quantity"], item["max_quantity"]) for item in items)
        for name, items in data["catalogues"].items()
    }
    return tuple(Vendor(**{**vendor, "catalogue": catalogues[vendor["catalogue"]]}) for vendor in data["vendors"])


VENDORS = _load_vendors(DATA_DIR / "vendors.json")
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
        items.append({"description": description, "quantity": quantity, "unit_price": money(unit),
                      "amount": money(amount)})
    tax = round(subtotal * vendor.tax_percent / 100)
    invoice_day = created_at.date() - timedelta(days=rng.randint(0, 9))
    number = vendor.number_format.format(year=invoice_day.year, n=rng.randint(40, 99999))
    output = {
        "vendor": {"name": vendor.name, "vat_id": vendor.vat_id, "address": vendor.address},
        "invoice_number": number,
        "invoice_date": invoice_day.isoformat(),
        "due_date": (invoice_day + timedelta(days=rng.choice((14, 30, 30, 30, 45, 60)))).isoformat(),
        "currency": vendor.currency,
        "subtotal": money(subtotal),
        "tax": money(tax),
        "total": money(subtotal + tax),
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
    if swap_day_month(date.fromisoformat(out["invoice_date"])):
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
        out["invoice_date"] = swap_day_month(date.fromisoformat(out["invoice_date"])).isoformat()
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
              "base64": b64(pdf_document(lines, title=f"Invoice {truth['invoice_number']}"))}]
    if output is not None:
        files.append({"name": "line_items.csv", "role": "output", "contentType": "text/csv",
                      "text": invoice_csv(output)})
        files.append({"name": "invoice.json", "role": "output", "contentType": "application/json",
                      "json": output})
    return files
