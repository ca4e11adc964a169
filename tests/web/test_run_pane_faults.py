"""Claims of runs that cannot be claimed: an over-long id and a run that does not exist are 404s,
and nothing is stored for them (issue 17, item 7)."""

from review.models import Claim


def test_claiming_a_150_character_run_id_is_a_404_not_a_500(reviewer_client):
    response = reviewer_client.post(f"/runs/{'r' * 150}/claim/")
    assert response.status_code == 404
    assert not Claim.objects.exists()


def test_claiming_a_run_that_does_not_exist_stores_nothing(reviewer_client, backend, automation):
    response = reviewer_client.post("/runs/run-that-never-was/claim/")
    assert response.status_code == 404
    assert not Claim.objects.exists()


def test_claiming_an_existing_run_still_works_and_renews(reviewer_client, reviewer, run):
    assert reviewer_client.post(f"/runs/{run.pk}/claim/").status_code == 204
    first = Claim.objects.get(run_id=run.pk).expires_at
    assert reviewer_client.post(f"/runs/{run.pk}/claim/").status_code == 204
    claim = Claim.objects.get(run_id=run.pk)
    assert claim.user == reviewer and claim.expires_at >= first
