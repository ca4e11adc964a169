"""The demo's content files (demo/data/vendors.json, demo/data/automations.json): every automation
has its generators and every generator its automation, the numbers make sense, the loaded
structures are the tuples the frozen dataclasses expect, and the wheel ships the files."""

import fnmatch
import json
import math
import tomllib
from pathlib import Path

import pytest

from demo import generate, invoices
from demo.generate import AUTOMATIONS, COMMON_ERRORS, GENERATORS
from demo.invoices import VENDORS

DATA = Path(generate.__file__).with_name("data")
ROOT = Path(__file__).resolve().parents[2]


def _json(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_every_automation_has_generators_and_every_generator_an_automation():
    refs = [spec["ref"] for spec in _json("automations.json")["automations"]]
    assert len(refs) == len(set(refs)), refs
    assert set(refs) == set(GENERATORS)
    assert [a.ref for a in AUTOMATIONS] == refs  # the file's order, which weighs the draw in demo_runs()
    for ref, functions in GENERATORS.items():
        assert set(functions) == {"payload", "flaw", "files", "csv"}, ref
        assert all(callable(functions[k]) for k in ("payload", "flaw", "files")), ref


def test_shares_are_a_split_of_all_runs_and_rates_are_probabilities():
    # demo_runs() draws each run's automation with the shares as weights; DemoAutomation.share is
    # "of all demo runs", so they add up to one.
    assert math.isclose(sum(a.share for a in AUTOMATIONS), 1.0)
    for a in AUTOMATIONS:
        assert 0 < a.share <= 1 and 0 <= a.flaw_rate < 1, a.ref
        assert a.triggers and all(weight > 0 for _, _, weight in a.triggers), a.ref
        median, spread = a.duration_ms
        assert median > 0 and spread >= 1, a.ref
        days_ago = [days for days, _, _ in a.rates]
        assert days_ago == sorted(days_ago, reverse=True) and len(set(days_ago)) == len(days_ago), a.ref  # oldest first
        assert all(0 < bp <= 10_000 for _, bp, _ in a.rates), a.ref
        assert a.errors[: len(COMMON_ERRORS)] == COMMON_ERRORS and len(a.errors) > len(COMMON_ERRORS), a.ref
        assert (a.csv_name is None) == (a.csv is None), a.ref  # demo/load.py attaches csv(truth) as csv_name


def test_every_vendor_has_a_sensible_catalogue():
    data = _json("vendors.json")
    named = {vendor["catalogue"] for vendor in data["vendors"]}
    assert named == set(data["catalogues"]), "a vendor names a missing catalogue, or a catalogue is unused"
    assert len({v.name for v in VENDORS}) == len(VENDORS)
    for vendor in VENDORS:
        assert vendor.catalogue, vendor.name
        for description, low, high, qmin, qmax in vendor.catalogue:
            assert description and 0 < low <= high, (vendor.name, description)
            assert 1 <= qmin <= qmax, (vendor.name, description)
        assert vendor.number_format.format(year=2026, n=42)
        assert 0 <= vendor.tax_percent < 100 and len(vendor.currency) == 3, vendor.name


def test_loaded_structures_are_tuples_and_hashable():
    assert isinstance(VENDORS, tuple) and isinstance(AUTOMATIONS, tuple) and isinstance(COMMON_ERRORS, tuple)
    for vendor in VENDORS:
        assert isinstance(vendor.catalogue, tuple) and all(isinstance(item, tuple) for item in vendor.catalogue)
        hash(vendor)
    for a in AUTOMATIONS:
        for field in (a.rates, a.triggers, a.duration_ms, a.errors):
            assert isinstance(field, tuple), a.ref
        assert all(isinstance(row, tuple) for row in a.rates + a.triggers), a.ref
        hash(a)


def test_an_automation_without_generators_is_refused_at_load(tmp_path):
    data = _json("automations.json")
    data["automations"].append({**data["automations"][0], "ref": "workflows.unknown"})
    path = tmp_path / "automations.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(KeyError, match="workflows.unknown"):
        generate._load_automations(path)


def test_a_vendor_with_an_unknown_field_is_refused_at_load(tmp_path):
    data = _json("vendors.json")
    data["vendors"][0]["iban"] = "DE00"
    path = tmp_path / "vendors.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(TypeError, match="iban"):
        invoices._load_vendors(path)


def test_the_wheel_ships_every_data_file():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data.get("demo", [])
    files = [p.relative_to(DATA.parent).as_posix() for p in DATA.iterdir() if p.is_file()]
    assert files
    assert all(any(fnmatch.fnmatch(name, pattern) for pattern in patterns) for name in files), (files, patterns)
