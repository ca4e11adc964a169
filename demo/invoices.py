"""Demo invoices: vendors, the extraction payload, its typical flaws, its files."""

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from demo.files import csv_text, pdf_document
from demo.values import b64, money, swap_day_month


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
