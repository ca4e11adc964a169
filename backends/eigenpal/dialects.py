"""The two generations of the EigenPal review API, behind one small interface (docs/proxy.md,
"API generations").

- `feedback` (SDK 0.9.x, the contract in docs/api-feedback.md) under `/api/v1`: PUT
  /runs/:id/feedback merges {rating pass|fail|partial, status open|resolved|ignored, body, expected};
  /runs/:id/feedback/expected[/:name]; GET /runs/:id?expand=execution,input carries the feedback
  and the expected output; list rows carry no review, so chips come from `ids=` lookups; list
  filters hasFeedback, noFeedback, feedbackStatus, feedbackRating, hasExpected, promotedToExample.
- `reviews` (SDK 0.20.x) under `/v1`: PUT /runs/:id/reviews creates or replaces the whole review
  {verdict correct|incorrect|null, status open|closed|wont_fix, note, correctedOutput,
  corrections}; PATCH closes it, DELETE clears it; /runs/:id/reviews/expected[/:name]; GET
  /runs/:id?expand=execution,input carries `execution.review` and `execution.expected`; every
  list row carries a review summary (`execution.review`) and a `sampleRank`; list filters
  hasReview, noReview, reviewStatus, reviewVerdict, hasCorrections.

Loupe thinks in the first vocabulary; the reviews dialect maps both ways. The reviews
generation has no "partial" verdict: partial is sent as incorrect and reads back as fail.
"""

import re

from backends.base import BackendError, ChangeRefused, Misconfigured
from backends.eigenpal.client import ENVELOPE_DEPTH, Upstream, file_path, parse_json, seg
from runs import chips, jsonbounds
from runs.chips import Chip, derive_chip
from runs.sampling import BUCKETS, sample_bucket

# Canonical (feedback-generation) values <-> the reviews generation (runs/chips.py).
VERDICT_OUT = {**chips.VERDICT_OUT, None: None}
VERDICT_IN = chips.VERDICT_IN
STATUS_OUT = {**chips.STATUS_OUT, None: None}
STATUS_IN = chips.STATUS_IN
# The keys a correction may carry in a PUT (the rest of a read correction is server-made).
CORRECTION_KEYS = ("id", "kind", "path", "label", "originalValue", "correctedValue", "note",
                   "correctedArtifactPath")
# Answers that mean "this generation is not served here" to the probe.
NOT_SERVED = frozenset({301, 302, 303, 307, 308, 404, 405})


class FeedbackDialect:
    name = "feedback"
    prefix = "/api/v1"
    route, route_key = "feedback", "feedback"  # GET {prefix}/runs/{id}/{route} answers {route_key: ...}
    review_filters = ("hasFeedback", "noFeedback", "feedbackStatus", "feedbackRating", "hasExpected",
                      "promotedToExample")
    # The run-list filter each chip starts from (canonical names), and the chips it selects exactly.
    chip_filters = {
        Chip.UNREVIEWED: {"noFeedback": "true"},  # merged with the note-only runs (EigenpalBackend)
        Chip.OPEN: {"feedbackStatus": "open"},
        Chip.IGNORED: {"feedbackStatus": "ignored"},
        Chip.PASSED: {"feedbackRating": "pass"},  # minus those reopened or ignored after passing
        Chip.FAILED: {"hasFeedback": "true"},  # fail/partial, or resolved without a rating
    }
    rows_carry_reviews = False  # chips need `ids=` lookups

    def list_params(self, params: dict) -> dict:
        return params

    def row_chip(self, item: dict) -> str | None:
        return None

    def sample_bucket(self, item: dict) -> int:
        return sample_bucket(item["id"])

    def expected_path(self, run_id: str, name: str | None = None) -> str:
        path = f"/runs/{seg(run_id)}/feedback/expected"
        return f"{path}/{file_path(name)}" if name is not None else path

    def run_detail(self, upstream: Upstream, run_id: str) -> tuple[dict, dict | None, object, list[str]]:
        """(run, review in canonical form or None, expected output, expected file names): one call."""
        data = upstream.json("GET", f"/runs/{seg(run_id)}", params={"expand": "execution,input"})
        execution = data.get("execution") or {}
        expected = execution.get("expected") or {}
        return data, execution.get("feedback"), expected.get("output"), _names(expected)

    def put_review(self, upstream: Upstream, run_id: str, changes: dict, current: dict | None) -> None:
        """A partial update: the 0.9 PUT merges (a left-out key is unchanged)."""
        upstream.json("PUT", f"/runs/{seg(run_id)}/feedback", json=changes)


class ReviewsDialect(FeedbackDialect):
    name = "reviews"
    prefix = "/v1"
    route, route_key = "reviews", "review"
    review_filters = ("hasReview", "noReview", "reviewStatus", "reviewVerdict", "hasCorrections")
    chip_filters = {
        Chip.UNREVIEWED: {"noFeedback": "true"},
        Chip.OPEN: {"feedbackStatus": "open"},
        Chip.IGNORED: {"feedbackStatus": "ignored"},
        Chip.PASSED: {"feedbackRating": "pass"},  # minus those reopened or ignored (row summaries)
        Chip.FAILED: {"feedbackStatus": "resolved"},  # closed and not correct (row summaries)
    }
    rows_carry_reviews = True

    _FILTER_NAMES = {"hasFeedback": "hasReview", "noFeedback": "noReview", "feedbackStatus": "reviewStatus",
                     "feedbackRating": "reviewVerdict", "hasExpected": "hasCorrections"}

    def list_params(self, params: dict) -> dict:
        out = {}
        for key, value in params.items():
            if key == "promotedToExample":
                raise ChangeRefused("The EigenPal API (reviews generation) cannot filter runs by promotion; "
                                    "clear the “Promoted” filter.", field="promoted")
            if key == "feedbackStatus":
                value = STATUS_OUT.get(value, value)
            elif key == "feedbackRating":
                value = "none" if value == "none" else VERDICT_OUT.get(value, value)
            out[self._FILTER_NAMES.get(key, key)] = value
        return out

    def row_chip(self, item: dict) -> str:
        """The chip from the row's review summary: no call per row."""
        summary = (item.get("execution") or {}).get("review")
        if not isinstance(summary, dict):
            return Chip.UNREVIEWED
        return derive_chip(VERDICT_IN.get(summary.get("verdict")), STATUS_IN.get(summary.get("status")))

    def sample_bucket(self, item: dict) -> int:
        """The upstream's sampleRank in [0, 1) as a bucket of Loupe's rule: a run is sampled when
        sampleRank * 10000 < the rate in basis points, i.e. when floor(sampleRank * 10000) < rate."""
        rank = item.get("sampleRank")
        if not isinstance(rank, (int, float)) or isinstance(rank, bool) or not 0 <= rank < 1:
            raise BackendError(f"The EigenPal API sent run {item.get('id')!r} without a sampleRank in [0, 1); "
                               "the reviews generation carries one on every run.")
        # The epsilon undoes float error (a Loupe upstream sends bucket / 10000, and 0.0029 * 10000
        # is 28.999...); it is far below a bucket, so any other rank floors as it should.
        return min(int(rank * BUCKETS + 1e-6), BUCKETS - 1)

    def expected_path(self, run_id: str, name: str | None = None) -> str:
        path = f"/runs/{seg(run_id)}/reviews/expected"
        return f"{path}/{file_path(name)}" if name is not None else path

    def run_detail(self, upstream: Upstream, run_id: str):
        data = upstream.json("GET", f"/runs/{seg(run_id)}", params={"expand": "execution,input"})
        execution = data.get("execution") or {}
        expected = execution.get("expected") or {}
        review = execution.get("review") if isinstance(execution.get("review"), dict) else None
        output = review["correctedOutput"] if review and "correctedOutput" in review else expected.get("output")
        return data, review_to_feedback(review), output, _names(expected)

    def put_review(self, upstream: Upstream, run_id: str, changes: dict, current: dict | None) -> None:
        """Create or replace the whole review, so nothing the reviewer did not touch is dropped;
        a status-only close uses PATCH; a review left with nothing in it (no verdict, note or
        correction; open, the status a review without a verdict gets) is cleared (DELETE)."""
        merged = {"rating": None, "status": None, "body": "", "expected": None, "files": [], "wire": None,
                  **(current or {}), **changes}
        path = f"/runs/{seg(run_id)}/reviews"
        wire = merged.get("wire") or {}
        # The version read, when the upstream has one: a write based on a stale review is refused
        # (412) instead of overwriting another reviewer's change.
        headers = {"If-Match": f'"{wire["version"]}"'} if wire.get("version") is not None else None
        if (set(changes) == {"status"} and merged["status"] in ("resolved", "ignored")
                and current and current.get("wire")):
            upstream.json("PATCH", path, json={"status": STATUS_OUT[merged["status"]]}, headers=headers,
                          idempotent=True)
            return
        if (merged["rating"] is None and merged["status"] in (None, "open") and not merged["body"]
                and merged["expected"] is None and not merged["files"]):  # nothing left to say
            if current and current.get("wire"):
                upstream.request("DELETE", path, headers=headers)
            return
        body = {"verdict": VERDICT_OUT[merged["rating"]], "note": merged["body"] or None,
                "correctedOutput": merged["expected"]}
        if merged["status"] is not None:  # else the API's default: closed for correct, otherwise open
            body["status"] = STATUS_OUT[merged["status"]]
        if "expected" not in changes and isinstance(wire.get("corrections"), list):
            # Unchanged output: send the corrections as they are (a changed output has its
            # corrections re-derived upstream).
            body["corrections"] = [{k: c[k] for k in CORRECTION_KEYS if k in c}
                                   for c in wire["corrections"] if isinstance(c, dict)]
        upstream.json("PUT", path, json=body, headers=headers)


def _names(expected: dict) -> list[str]:
    return [f["name"] for f in expected.get("files") or [] if isinstance(f, dict) and f.get("name")]


def review_to_feedback(review: dict | None) -> dict | None:
    """A reviews-generation review object in the feedback vocabulary (the wire object kept)."""
    if not isinstance(review, dict):
        return None
    return {
        # A Loupe upstream also sends its own rating, so a partial survives the round trip.
        "rating": (review["loupeRating"] if review.get("loupeRating") in ("pass", "fail", "partial")
                   else VERDICT_IN.get(review.get("verdict"))),
        "status": STATUS_IN.get(review.get("status")),
        "body": review.get("note") or "",
        "createdAt": review.get("createdAt"),
        "updatedAt": review.get("updatedAt"),
        "createdByEmail": review.get("reviewedByEmail"),
        "promotedExampleName": None,  # the reviews generation does not say
        "wire": review,
    }


DIALECTS = {"feedback": FeedbackDialect(), "reviews": ReviewsDialect()}


# --- which generation the upstream speaks ------------------------------------------------------


def _answer(upstream: Upstream, path: str, key: str, params: dict | None = None) -> dict | None:
    """GET `path` (from the base URL's root): the JSON object when it answers 200 with `key`,
    None when the route is not served there (404, 405, a redirect, a page that is not JSON)."""
    try:
        response = upstream.request("GET", path, params=params, prefix="")
    except BackendError as exc:
        if exc.status in NOT_SERVED:
            return None
        raise
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = parse_json(response.content, jsonbounds.max_depth() + ENVELOPE_DEPTH)
    except ValueError:
        return None
    return body if isinstance(body, dict) and key in body else None


def _not_there(upstream: Upstream, what: str) -> Misconfigured:
    return Misconfigured(
        f"No EigenPal API answers at EIGENPAL_BASE_URL={upstream.base_url}: {what}. Set EIGENPAL_BASE_URL to the "
        "API's root URL (scheme and host, no /v1 or /api/v1 path) and EIGENPAL_API_GENERATION to the generation "
        "it speaks (reviews for SDK 0.20, feedback for SDK 0.9), or to auto.")


def _serves(upstream: Upstream, dialect: FeedbackDialect) -> bool:
    """Does the upstream at the dialect's prefix answer its review route? With a run to ask
    about: `GET {prefix}/runs/{id}/reviews` (or `/feedback`) answers 200 with a `review` (or
    `feedback`) key; a server with another route, a singular `/review` say, answers 404. Without
    runs: its OpenAPI document, when it has one, lists that path (matched whole); no document,
    no runs: the auth check already answered at that prefix, which has to do."""
    listing = _answer(upstream, f"{dialect.prefix}/runs", "runs", {"limit": 1}) or {}
    runs = [r for r in listing.get("runs") or [] if isinstance(r, dict) and r.get("id")]
    if runs:
        return _answer(upstream, f"{dialect.prefix}/runs/{seg(runs[0]['id'])}/{dialect.route}",
                       dialect.route_key) is not None
    document = _answer(upstream, f"{dialect.prefix}/openapi.json", "paths")
    if document is None:
        return True
    pattern = re.compile(r"/runs/\{[^/{}]+\}/" + dialect.route + "$")
    return any(pattern.search(path) for path in document.get("paths") or {})


def verify(upstream: Upstream, dialect: FeedbackDialect) -> FeedbackDialect:
    """The set generation is served: its auth check answers and so does its review route (2-3
    calls, once per process)."""
    if _answer(upstream, f"{dialect.prefix}/auth/check", "ok") is None:
        raise _not_there(upstream, f"EIGENPAL_API_GENERATION={dialect.name} but GET {dialect.prefix}/auth/check "
                                   "is not served there")
    if not _serves(upstream, dialect):
        raise _not_there(upstream, f"EIGENPAL_API_GENERATION={dialect.name} but GET "
                                   f"{dialect.prefix}/runs/<id>/{dialect.route} is not served there")
    return dialect


def detect(upstream: Upstream) -> FeedbackDialect:
    """The generation the upstream speaks, by asking it (a few calls, once per process):

    1. `GET /v1/auth/check` answers (the reviews generation lives under /v1; 0.9 never did)
       and the upstream serves `/v1/runs/{id}/reviews` (`_serves`): reviews.
    2. else `GET /api/v1/auth/check` answers: feedback.
    3. else neither: a configuration error naming the base URL and what was asked.
    A refused key (401/403) or an unreachable host is raised as is, and nothing is remembered."""
    reviews, feedback = DIALECTS["reviews"], DIALECTS["feedback"]
    v1 = _answer(upstream, f"{reviews.prefix}/auth/check", "ok") is not None
    if v1 and _serves(upstream, reviews):
        return reviews
    if _answer(upstream, f"{feedback.prefix}/auth/check", "ok") is not None:
        return feedback
    if v1:
        raise _not_there(upstream, f"it serves {reviews.prefix}/ but not {reviews.prefix}/runs/<id>/reviews, so it "
                                   "is not the reviews generation of SDK 0.20, nor the feedback generation")
    raise _not_there(upstream, f"neither GET {reviews.prefix}/auth/check (reviews generation, SDK 0.20) nor "
                               f"GET {feedback.prefix}/auth/check (feedback generation, SDK 0.9) is served there")
