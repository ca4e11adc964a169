"""The two generations of the EigenPal review API, behind one small interface.

- `feedback` (SDK 0.9.x, the contract in docs/api-feedback.md): PUT /runs/:id/feedback with
  {rating pass|fail|partial, status open|resolved|ignored, body, expected};
  /runs/:id/feedback/expected[/:name]; GET /runs/:id?expand=execution,input carries the feedback
  and the expected output; list filters hasFeedback, noFeedback, feedbackStatus, feedbackRating.
- `reviews` (the newer hosted API, SDK 0.10+): PATCH /runs/:id/review with {verdict
  correct|incorrect, status open|closed|wont_fix, note, expected}; /runs/:id/expected[/:name];
  GET /runs/:id?include=detail carries `review` and `expected`; list filters hasReview,
  noReview, reviewStatus, reviewVerdict.

Loupe thinks in the first vocabulary; the reviews dialect maps both ways. The newer API has no
"partial" verdict: partial is sent as incorrect and reads back as fail (docs/proxy.md).
"""

from backends.base import ChangeRefused, NotFound
from backends.eigenpal.client import Upstream, file_path, seg

# Canonical (feedback-generation) values <-> the reviews generation.
VERDICT_OUT = {"pass": "correct", "fail": "incorrect", "partial": "incorrect", None: None}
VERDICT_IN = {"correct": "pass", "incorrect": "fail"}
STATUS_OUT = {"open": "open", "resolved": "closed", "ignored": "wont_fix", None: None}
STATUS_IN = {v: k for k, v in STATUS_OUT.items() if k}

FEEDBACK_FILTERS = ("hasFeedback", "noFeedback", "feedbackStatus", "feedbackRating", "hasExpected",
                    "promotedToExample")


class FeedbackDialect:
    name = "feedback"
    review_filters = FEEDBACK_FILTERS

    def list_params(self, params: dict) -> dict:
        return params

    def expected_path(self, run_id: str, name: str | None = None) -> str:
        path = f"/runs/{seg(run_id)}/feedback/expected"
        return f"{path}/{file_path(name)}" if name is not None else path

    def run_detail(self, upstream: Upstream, run_id: str) -> tuple[dict, dict | None, object, list[str]]:
        """(run, feedback in canonical form or None, expected output, expected file names): one call."""
        data = upstream.json("GET", f"/runs/{seg(run_id)}", params={"expand": "execution,input"})
        execution = data.get("execution") or {}
        expected = execution.get("expected") or {}
        names = [f["name"] for f in expected.get("files") or [] if isinstance(f, dict) and f.get("name")]
        return data, execution.get("feedback"), expected.get("output"), names

    def put_review(self, upstream: Upstream, run_id: str, changes: dict) -> None:
        """A partial update: the contract's PUT merges (a left-out key is unchanged)."""
        upstream.json("PUT", f"/runs/{seg(run_id)}/feedback", json=changes)


class ReviewsDialect(FeedbackDialect):
    name = "reviews"
    review_filters = ("hasReview", "noReview", "reviewStatus", "reviewVerdict", "hasExpected", "promotedToExample")

    _FILTER_NAMES = {"hasFeedback": "hasReview", "noFeedback": "noReview", "feedbackStatus": "reviewStatus",
                     "feedbackRating": "reviewVerdict"}

    def list_params(self, params: dict) -> dict:
        out = {}
        for key, value in params.items():
            if key == "feedbackStatus":
                value = STATUS_OUT.get(value, value)
            elif key == "feedbackRating":
                value = "none" if value == "none" else VERDICT_OUT.get(value, value)
            out[self._FILTER_NAMES.get(key, key)] = value
        return out

    def expected_path(self, run_id: str, name: str | None = None) -> str:
        path = f"/runs/{seg(run_id)}/expected"
        return f"{path}/{file_path(name)}" if name is not None else path

    def run_detail(self, upstream: Upstream, run_id: str):
        data = upstream.json("GET", f"/runs/{seg(run_id)}", params={"include": "detail"})
        expected = data.get("expected") or {}
        names = [f["name"] for f in expected.get("files") or [] if isinstance(f, dict) and f.get("name")]
        return data, review_to_feedback(data.get("review")), expected.get("output"), names

    def put_review(self, upstream: Upstream, run_id: str, changes: dict) -> None:
        body = {}
        for key, value in changes.items():
            if key == "rating":
                body["verdict"] = VERDICT_OUT[value]
            elif key == "status":
                body["status"] = STATUS_OUT[value]
            elif key == "body":
                body["note"] = value
            else:
                body[key] = value
        upstream.json("PATCH", f"/runs/{seg(run_id)}/review", json=body, idempotent=True)


def review_to_feedback(review: dict | None) -> dict | None:
    """A reviews-generation review object in the feedback vocabulary."""
    if not isinstance(review, dict):
        return None
    return {
        "rating": VERDICT_IN.get(review.get("verdict")),
        "status": STATUS_IN.get(review.get("status")),
        "body": review.get("note") or "",
        "createdAt": review.get("createdAt"),
        "updatedAt": review.get("updatedAt"),
        "createdByEmail": review.get("createdByEmail"),
        "promotedExampleName": review.get("promotedExampleName"),
    }


DIALECTS = {"feedback": FeedbackDialect(), "reviews": ReviewsDialect()}


def detect(upstream: Upstream) -> FeedbackDialect:
    """Which generation the upstream speaks, from its OpenAPI document: the feedback routes win
    when both are listed (they are the complete contract); no document means feedback."""
    try:
        document = upstream.json("GET", "/openapi.json")
    except (NotFound, ChangeRefused):  # no document; auth and transport errors propagate
        return DIALECTS["feedback"]
    paths = " ".join((document or {}).get("paths", {}) if isinstance(document, dict) else [])
    if "/feedback" in paths or "/review" not in paths:
        return DIALECTS["feedback"]
    return DIALECTS["reviews"]
