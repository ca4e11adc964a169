import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from datasets.models import Example
from datasets.services import example_file_store
from runs.models import Automation
from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, make_runs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ops_changes_a_rate_and_sees_history_and_estimate(page, browser_reviewer):
    browser_reviewer.groups.add(Group.objects.get_or_create(name="ops")[0])
    automation = make_automation("workflows.extract-invoice", rate_bp=1500, name="Extract invoice")
    make_runs(70, automation)  # 70 runs in the last 7 days: 10 runs/day
    login(page, "rita", "review-pass")
    page.goto("/sampling/")
    card = page.locator(f"#sampling-{automation.pk}")
    expect(card.get_by_test_id("current-rate")).to_have_text("15%")
    card.get_by_label("Sampling rate (%)").fill("5")
    card.get_by_label("Reason", exact=True).fill("Pass rate stable for two weeks")
    card.get_by_role("button", name="Save rate").click()
    card = page.locator(f"#sampling-{automation.pk}")
    expect(card.get_by_test_id("current-rate")).to_have_text("5%")
    expect(card.get_by_role("table", name="Rate history of Extract invoice")).to_contain_text("Pass rate stable for two weeks")
    expect(card.locator("tr.is-current")).to_contain_text("0.5")  # 10 runs/day at 5 % = 0.5 reviews/day
    screenshot(page, "05-sampling-changed")
    assert Automation.objects.get(pk=automation.pk).sampling_rate_bp == 500


def test_invalid_rate_is_refused_and_kept(page, browser_reviewer):
    browser_reviewer.groups.add(Group.objects.get_or_create(name="ops")[0])
    automation = make_automation("workflows.extract-invoice", rate_bp=1500)
    login(page, "rita", "review-pass")
    page.goto("/sampling/")
    card = page.locator(f"#sampling-{automation.pk}")
    card.get_by_label("Sampling rate (%)").fill("150")
    card.get_by_role("button", name="Save rate").click()
    expect(page.locator(f"#sampling-{automation.pk} .field-errors").first).to_be_visible()
    expect(page.locator(f"#sampling-{automation.pk}").get_by_label("Sampling rate (%)")).to_have_value("150")


def test_export_a_dataset_and_import_it_into_another_automation(page, browser_reviewer, tmp_path):
    source = make_automation("workflows.extract-invoice", name="Extract invoice")
    target = make_automation("workflows.extract-invoice-v2", name="Extract invoice v2")
    example = Example.objects.create(automation=source, name="toner-miss", input={"doc": {"$file": "input/a b.pdf"}},
                                     expected={"total": 187.5})
    example_file_store(example=example, folder="input", path="a b.pdf", content=b"%PDF-1.4 test", content_type="application/pdf")
    example_file_store(example=example, folder="expected", path="sub/items.csv", content=b"a,b\n1,2\n", content_type="text/csv")
    login(page, "rita", "review-pass")
    page.goto(f"/datasets/{source.ref}/")
    screenshot(page, "06-dataset")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export ZIP").click()
    archive = tmp_path / "dataset.zip"
    download_info.value.save_as(archive)

    page.goto(f"/datasets/{target.ref}/")
    page.locator("input[type=file]").set_input_files(str(archive))
    page.get_by_role("button", name="Import ZIP").click()
    expect(page.locator("main")).to_contain_text("toner-miss")
    screenshot(page, "07-dataset-imported")
    copy = Example.objects.get(automation=target, name="toner-miss")
    assert copy.expected == {"total": 187.5}
    assert {(f.folder, f.path, f.file.read()) for f in copy.files.all()} == {
        ("input", "a b.pdf", b"%PDF-1.4 test"), ("expected", "sub/items.csv", b"a,b\n1,2\n")}


def test_backlog_page_renders_charts(page, browser_reviewer):
    make_runs(5, make_automation())
    login(page, "rita", "review-pass")
    page.goto("/backlog/")
    expect(page.locator("svg").first).to_be_visible()
    screenshot(page, "08-backlog")
