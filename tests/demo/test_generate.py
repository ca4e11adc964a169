"""The demo generator: deterministic, consistent numbers, the shape the importer accepts."""

import re
import struct
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from demo.files import pdf_document, png_bar_chart
from demo.generate import demo_runs
from runs.records import parse_run_record

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def runs(count=600, **kwargs):
    return list(demo_runs(count=count, seed=3, now=NOW, **kwargs))


def test_the_same_seed_gives_the_same_runs():
    assert [r.record for r in runs(50)] == [r.record for r in runs(50)]


def test_every_record_parses_as_a_run_record():
    for run in runs(200, files_ratio=0.5):
        parse_run_record(run.record)


def test_runs_cover_the_three_automations_within_the_last_30_days():
    records = [r.record for r in runs()]
    created = [parse_run_record(r).created_at for r in records]
    assert {r["automation"] for r in records} == {
        "workflows.extract-invoice", "workflows.extract-statement", "agents.triage-email"}
    assert NOW - timedelta(days=30) <= min(created) and max(created) <= NOW


def test_statuses_are_mostly_completed_with_some_failures_and_cancellations():
    statuses = Counter(r.record["status"] for r in runs(2000))
    assert statuses["completed"] > 1700 and 60 < statuses["failed"] < 200 and 10 < statuses["cancelled"] < 80


def test_failed_runs_have_an_error_and_no_output():
    failed = [r.record for r in runs() if r.record["status"] == "failed"]
    assert failed and all(r["output"] is None and r["error"] for r in failed)


def test_invoice_amounts_add_up_unless_a_mistake_was_planted():
    for run in runs():
        out = run.record["output"]
        if run.record["automation"] != "workflows.extract-invoice" or not out or run.flaw:
            continue
        assert round(sum(i["amount"] for i in out["line_items"]), 2) == out["subtotal"]
        assert round(out["subtotal"] + out["tax"], 2) == out["total"]


def test_statement_balances_run_from_opening_to_closing():
    for run in runs():
        out = run.record["output"]
        if run.record["automation"] != "workflows.extract-statement" or not out or run.flaw:
            continue
        assert round(out["opening_balance"] + sum(t["amount"] for t in out["transactions"]), 2) == \
            out["closing_balance"]


def test_a_planted_mistake_comes_with_the_correct_output():
    flawed = [r for r in runs() if r.flaw]
    assert flawed and all(r.truth and r.truth != r.record["output"] for r in flawed)


def test_only_some_runs_carry_files():
    with_files = [r for r in runs(400, files_ratio=0.2) if r.record.get("files")]
    assert 40 < len(with_files) < 130


def test_the_pdf_cross_reference_points_at_each_object():
    pdf = pdf_document([("F2", 14, "Invoice (draft) – 12 €")], title="Test")
    xref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    offsets = [int(line[:10]) for line in pdf[xref:].split(b"\n") if line.endswith(b" n ")]
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert len(offsets) == 8 and all(pdf[o:].startswith(b"%d 0 obj" % n) for n, o in enumerate(offsets, start=1))


def test_a_line_with_an_unknown_font_key_is_refused():
    with pytest.raises(ValueError, match="font key 'Acme Supplies GmbH'"):
        pdf_document([("Acme Supplies GmbH", 16, "F2")], title="Test")


def test_the_png_chart_decodes_to_the_declared_size():
    png = png_bar_chart([120.0, -40.0, 300.0], width=60, height=30)
    width, height = struct.unpack(">II", png[16:24])
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    assert (width, height) == (60, 30)
    assert len(zlib.decompress(idat)) == height * (1 + width * 3)
