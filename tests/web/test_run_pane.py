import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datasets.models import Example
from review.models import AuditEvent, Review
from review.services import review_update
from runs.models import Run
from runs.services import run_file_store
from tests.proxy import DECIDED_BEFORE_THE_BACKEND, RENDERED_FROM_WHAT_WAS_READ
from tests.web.conftest import pane_version

pytestmark = pytest.mark.django_db


def url(run, action=""):
    return f"/runs/{run.pk}/" + (f"{action}/" if action else "")


def save(client, run, htmx=False, **fields):
    """The pane's one form (web/run_pane.py run_save), as the page posts it."""
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url(run, "save"), {"version": 0, **fields}, headers=headers)


def review(run) -> Review:
    return Review.objects.get(run=run)


def chip(run) -> str:
    return Run.objects.get(pk=run.pk).chip


def test_pane_shows_output_input_and_metadata(backend, reviewer_client, run):
    body = reviewer_client.get(url(run)).content.decode()
    assert "Acme Supplies GmbH" in body and "c-42" in body and "v3" in body


@RENDERED_FROM_WHAT_WAS_READ
def test_pane_escapes_user_json(backend, reviewer_client, automation):
    from tests.factories import make_run
    run = make_run(automation, output={"note": "<script>alert(1)</script>"})
    body = reviewer_client.get(url(run)).content.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body


def test_unknown_run_is_404(backend, reviewer_client, db):
    assert reviewer_client.get("/runs/nope/").status_code == 404


@DECIDED_BEFORE_THE_BACKEND
def test_anonymous_is_redirected(backend, client, run):
    assert client.get(url(run)).status_code == 302


def test_thumbs_up_passes_resolves_and_moves_on(backend, reviewer_client, run):
    response = save(reviewer_client, run, verdict="pass")
    assert response.status_code == 302 and (review(run).rating, review(run).status) == ("pass", "resolved")
    assert chip(run) == "passed"


def test_thumbs_down_opens_the_review_and_stays_on_the_pane(backend, reviewer_client, run):
    response = save(reviewer_client, run, verdict="fail")
    assert response["Location"].endswith("#pane-form") and chip(run) == "open"


def test_partial_records_partial_and_open(backend, reviewer_client, run):
    save(reviewer_client, run, verdict="partial")
    # The reviews generation has no partial verdict: it is sent as incorrect (docs/proxy.md).
    rating = "fail" if backend == "eigenpal-reviews" else "partial"
    assert (review(run).rating, review(run).status) == (rating, "open")


def test_note_is_saved_with_the_verdict(backend, reviewer_client, run):
    save(reviewer_client, run, verdict="fail", body="Dropped a line")
    assert review(run).body == "Dropped a line"


def test_htmx_verdict_returns_the_pane_fragment(backend, reviewer_client, run):
    response = save(reviewer_client, run, htmx=True, verdict="fail")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="run-pane"' in body and "<html" not in body


def test_stale_save_is_refused_with_both_versions_and_keeps_the_note(backend, reviewer_client, run, lead):
    review_update(run=run, changes={"rating": "fail", "status": "open", "body": "theirs"}, user=lead)
    response = save(reviewer_client, run, verdict="pass", body="mine")
    body = response.content.decode()
    assert response.status_code == 200 and "Not saved" in body and "mine" in body and "theirs" in body
    assert review(run).body == "theirs"


def test_resolve_ignore_reopen(backend, reviewer_client, run):
    save(reviewer_client, run, verdict="fail")
    save(reviewer_client, run, op="ignore", version=pane_version(reviewer_client, run.pk))
    assert chip(run) == "ignored"
    save(reviewer_client, run, op="reopen", version=pane_version(reviewer_client, run.pk))
    assert chip(run) == "open"


def test_editing_a_nested_value_sets_expected_and_shows_strike_and_highlight(backend, reviewer_client, run):
    save(reviewer_client, run, **{"v:/line_items/1/amount": "187"})
    assert review(run).expected["line_items"][1]["amount"] == 187
    body = reviewer_client.get(url(run)).content.decode()
    assert 'aria-label="was">178.0</del>' in body and 'value="187" autocomplete="off"' in body


@pytest.mark.backends("local", reason="review.workbench builds the item; the backend stores the correction as in "
                                     "test_editing_a_nested_value_sets_expected_and_shows_strike_and_highlight")
def test_adding_an_array_item(backend, reviewer_client, run):
    save(reviewer_client, run, op="add:/line_items")
    assert review(run).expected["line_items"][-1] == {"description": "", "quantity": 0, "unit_price": 0, "amount": 0}


def test_removing_an_object_key(backend, reviewer_client, run):
    save(reviewer_client, run, op="remove:/vendor/vat_id")
    assert "vat_id" not in review(run).expected["vendor"]


@DECIDED_BEFORE_THE_BACKEND
def test_wrong_type_is_refused_inline_and_keeps_what_was_typed(backend, reviewer_client, run):
    response = save(reviewer_client, run, **{"v:/total": "12,34 EUR"})
    body = response.content.decode()
    assert response.status_code == 200 and "Expected a number" in body and 'value="12,34 EUR"' in body
    assert not Review.objects.filter(run=run, expected__isnull=False).exists()


@DECIDED_BEFORE_THE_BACKEND
def test_invalid_raw_json_is_refused_and_kept(backend, reviewer_client, run):
    response = save(reviewer_client, run, op="raw", raw='{"total": 1,')
    body = response.content.decode()
    assert "not valid JSON" in body and "{&quot;total&quot;: 1," in body


def test_discarding_the_correction_clears_expected(backend, reviewer_client, run):
    save(reviewer_client, run, **{"v:/total": "1"})
    save(reviewer_client, run, op="reset", version=pane_version(reviewer_client, run.pk))
    left = Review.objects.filter(run=run).first()  # the reviews generation clears an empty review
    assert left is None if backend == "eigenpal-reviews" else (left.expected is None and not left.has_expected)


@RENDERED_FROM_WHAT_WAS_READ
def test_every_value_is_a_field_of_the_pane_form(backend, reviewer_client, run):
    body = reviewer_client.get(url(run)).content.decode()
    assert 'name="v:/total" form="pane-form"' in body and 'name="v:/line_items/1/amount" form="pane-form"' in body


def test_upload_expected_file(backend, reviewer_client, run):
    upload = SimpleUploadedFile("fixed.csv", b"a,b\n1,2\n", content_type="text/csv")
    reviewer_client.post(url(run, "expected/upload"), {"file": upload})
    assert [f.name for f in review(run).expected_files.all()] == ["fixed.csv"] and review(run).has_expected


@DECIDED_BEFORE_THE_BACKEND
def test_oversized_upload_is_refused_with_a_clear_message(backend, reviewer_client, run, settings):
    settings.LOUPE_MAX_UPLOAD_BYTES = 10
    upload = SimpleUploadedFile("big.csv", b"x" * 100, content_type="text/csv")
    response = reviewer_client.post(url(run, "expected/upload"), {"file": upload})
    assert response.status_code == 200 and "the limit is" in response.content.decode()


def test_upload_name_with_traversal_is_refused(backend, reviewer_client, run):
    upload = SimpleUploadedFile("ok.csv", b"1")
    response = reviewer_client.post(url(run, "expected/upload"), {"file": upload, "name": "../../etc/passwd"})
    body = response.content.decode()
    assert "may not contain" in body and 'value="../../etc/passwd"' in body


def test_copy_rename_and_delete_expected_files(backend, reviewer_client, run):
    run_file_store(run_id=run.pk, name="out/items.csv", role="output", content=b"x,y\n", content_type="text/csv")
    reviewer_client.post(url(run, "expected/copy"), {"output_name": "out/items.csv"})
    reviewer_client.post(url(run, "expected/rename"), {"name": "out/items.csv", "new_name": "items-fixed.csv"})
    assert [f.name for f in review(run).expected_files.all()] == ["items-fixed.csv"]
    reviewer_client.post(url(run, "expected/delete"), {"name": "items-fixed.csv"})
    assert not review(run).expected_files.exists()


def test_expected_file_downloads_byte_for_byte(backend, reviewer_client, run):
    reviewer_client.post(url(run, "expected/upload"), {"file": SimpleUploadedFile("f.bin", b"\x00\x01\x02")})
    link = re.search(r'href="(/runs/[^"]+/expected-files/[^"]+)"', reviewer_client.get(url(run)).content.decode())
    response = reviewer_client.get(link.group(1))
    assert b"".join(response.streaming_content) == b"\x00\x01\x02"


def test_promote_without_expected_asks_to_confirm(backend, reviewer_client, run):
    response = save(reviewer_client, run, op="promote", example_name="no-truth")
    assert "no ground truth" in response.content.decode() and not Example.objects.exists()
    save(reviewer_client, run, op="promote", example_name="no-truth", confirm_no_expected="on")
    assert Example.objects.get().expected is None


def test_promote_copies_the_correction_and_links_back(backend, reviewer_client, run):
    save(reviewer_client, run, **{"v:/total": "99"})
    save(reviewer_client, run, op="promote", example_name="invoice-total-miss",
         version=pane_version(reviewer_client, run.pk))
    example = Example.objects.get(name="invoice-total-miss")
    assert example.expected["total"] == 99 and example.source_run_id == run.pk
    assert review(run).promoted_example_name == "invoice-total-miss"


def test_promote_rejects_a_bad_name_and_keeps_it(backend, reviewer_client, run):
    response = save(reviewer_client, run, op="promote", example_name="Bad Name!", confirm_no_expected="on")
    assert "lowercase" in response.content.decode() and 'value="Bad Name!"' in response.content.decode()


def test_every_change_is_in_the_audit_trail(backend, reviewer_client, run, reviewer):
    save(reviewer_client, run, verdict="fail")
    version = pane_version(reviewer_client, run.pk)
    save(reviewer_client, run, verdict="fail", version=version, **{"v:/total": "1"})
    # Web events are Loupe's own audit; in proxy mode the upstream logs its API calls besides.
    actions = list(AuditEvent.objects.filter(run=run, via="web").order_by("id").values_list("action", "user"))
    assert actions == [("save:fail", reviewer.pk), ("save:fail", reviewer.pk)]


@DECIDED_BEFORE_THE_BACKEND
def test_viewer_without_role_cannot_give_verdicts(backend, client, viewer, run):
    client.force_login(viewer)
    response = save(client, run, verdict="pass")
    assert response.status_code == 403 and "reviewer role" in response.content.decode()


@RENDERED_FROM_WHAT_WAS_READ
def test_viewer_sees_no_verdict_buttons(backend, client, viewer, run):
    client.force_login(viewer)
    body = client.get(url(run)).content.decode()
    assert 'value="pass"' not in body and "needs the reviewer role" in body


@DECIDED_BEFORE_THE_BACKEND
def test_get_on_a_post_endpoint_is_405(backend, reviewer_client, run):
    assert reviewer_client.get(url(run, "save")).status_code == 405


def test_next_and_previous_follow_the_queue_filter(backend, reviewer_client, automation):
    from tests.factories import make_runs
    runs = sorted(make_runs(3, automation), key=lambda r: r.created_at, reverse=True)
    response = reviewer_client.get(url(runs[1]) + "?chip=unreviewed")
    assert neighbour(reviewer_client, response, "previous") == runs[0].pk
    assert neighbour(reviewer_client, response, "following") == runs[2].pk


def neighbour(client, response, which: str) -> str:
    """The pane's previous/next run: where its link (resolved on click) redirects."""
    step = "previous" if which == "previous" else "next"
    redirect = client.get(f"/runs/{response.context['run'].pk}/{step}/?chip=unreviewed")
    return redirect["Location"].split("/runs/")[1].split("/")[0]
