"""The OpenAPI paths of automations: sampling, estimates, review health, examples and dataset
archives; and of webhooks."""

from api.openapi_parts import (
    ANY,
    ANY_TYPE,
    AUTOMATION_ID,
    AUTOMATIONS,
    BINARY,
    DATASET,
    EXAMPLE_ID,
    FILE_PATH,
    FOLDER,
    INT,
    OBJ,
    PAGE,
    RAW,
    REVIEWS_020,
    STORES,
    WEBHOOKS,
    B,
    S,
    arr,
    error,
    json_body,
    multipart,
    obj,
    op,
    p,
    page_of,
    q,
    ref,
)

EXAMPLE_BODY = {"name": "invoice-42", "input": {"customer": "c-42"}, "expected": {"total": 1243.5}}
SUBSCRIPTION_ID = p("subscription_id", "Webhook subscription id.")
SUBSCRIPTION_EXAMPLE = {"url": "https://hooks.example.com/loupe", "eventTypes": ["review.closed", "example.promoted"],
                        "automationId": "workflows.invoices", "description": "Our ticketing bridge"}

PATHS: dict[str, dict] = {
    "/api/v1/automations/{automation_id}/reviews/health": {"get": op(
        REVIEWS_020, "Review coverage and correctness (Wilson interval), per bucket and rolling", 200,
        ref("RunReviewHealthResponse"), params=[
            AUTOMATION_ID, q("from", "Default 30 days before `to`."), q("to", "Default now."),
            q("bucket", "day / week / month."), q("rollingWindow", "Ranked reviews per window, default 100.", INT),
            q("minRollingReviews", "Default 1.", INT),
            *[q(n, "As on GET /runs.") for n in ("type", "status", "trigger", "triggeredBy", "sourceRef", "batchId",
                                                  "exampleId", "exampleIdContains", "completedAfter",
                                                  "completedBefore", "experiments")]],
        description="Totals from the daily run-count rollup; reviews grouped by run day (docs/api-reviews.md).")},
    "/api/v1/automations": {"get": op(AUTOMATIONS, "List automations", 200, page_of("AutomationSummary"), params=[
        q("search", "Substring of slug, name or description."), q("type", "workflow / agent."),
        q("folderId", "null: the root (Loupe has no folders, so every automation); any other id: none."),
        *PAGE])},
    "/api/v1/automations/{automation_id}": {"get": op(AUTOMATIONS, "One automation", 200,
                                                      ref("AutomationDetail"), params=[AUTOMATION_ID])},
    "/api/v1/automations/{automation_id}/estimate": {"get": op(
        AUTOMATIONS, "Weighted pass-rate estimate (the number the sampling page shows)", 200,
        ref("PassRateEstimate"), params=[
            AUTOMATION_ID, q("from", "Runs created at or after: ISO date-time, date, or now()-7d. Default: `to` - 30 days."),
            q("to", "Runs created before. Default: now."), q("version", "Only runs of this version.")],
        description="Each reviewed sampled run weighted by 1 / its inclusion rate (the rate of its stratum and "
                    "rate period when it was recorded; Hajek estimator); 95 % Clopper-Pearson interval on a "
                    "conservative effective sample size, widened by the largest weight. "
                    "estimate and interval are null without reviewed runs. docs/estimates.md in the repository "
                    "explains the method.")},
    "/api/v1/automations/{automation_id}/sampling": {
        "get": op(AUTOMATIONS, "Sampling: default rate, strata (sampling by risk), step-down threshold, history", 200,
                  ref("Sampling"), params=[AUTOMATION_ID],
                  description="Rates and the threshold in percent (0-100). ETag: the sampling version."),
        "put": op(AUTOMATIONS, "Change the sampling (the same service and history as the sampling page)", 200,
                  ref("Sampling"), params=[AUTOMATION_ID],
                  body=json_body(ref("SamplingChange"), {
                      "defaultRate": 5, "reason": "failures concentrate in low scores",
                      "strata": [{"name": "judge failed", "when": {"kind": "score", "evaluator": "judge",
                                                                   "failed": True}, "rate": 100}]}),
                  description="Any of defaultRate, strata (the whole ordered list; [] removes them), "
                              "stepDownThreshold and doubleReviewShare, with a reason; effectiveAt now (default) "
                              "or later, never in "
                              "the past nor before a change already scheduled. Conditions: score (failed / "
                              "below), new_version (days), tag, low_confidence (below / level), json (source, "
                              "path, op, value); docs/rules.md in the repository. A bad field is a 400 naming "
                              "it and nothing is saved. If-Match (or version): 412 with the current settings "
                              "when stale. Needs the ops role.",
                  also={412: error("If-Match (or version) names an older version: nothing was written; the "
                                   "current settings are attached.", ref("Sampling"))}),
    },
    "/api/v1/automations/{automation_id}/examples": {
        "get": op(DATASET, "List examples", 200, page_of("DatasetExample"), params=[AUTOMATION_ID, *PAGE]),
        "post": op(DATASET, "Create an example", 201, ref("DatasetExample"), params=[AUTOMATION_ID],
                   body=json_body(ref("DatasetExampleMutation"), EXAMPLE_BODY),
                   description="Without a name, one is derived from the body; repeating the same create "
                               "returns the same example. Needs reviewer or lead."),
    },
    "/api/v1/automations/{automation_id}/examples/{example_id}": {
        "get": op(DATASET, "One example", 200, ref("DatasetExample"), params=[AUTOMATION_ID, EXAMPLE_ID]),
        "patch": op(DATASET, "Update an example (partial; null clears)", 200, ref("DatasetExample"),
                    params=[AUTOMATION_ID, EXAMPLE_ID], body=json_body(ref("DatasetExampleMutation"),
                                                                      {"annotation": "Tricky VAT line"})),
        "delete": op(DATASET, "Delete an example (answers it)", 200, ref("DatasetExample"),
                     params=[AUTOMATION_ID, EXAMPLE_ID]),
    },
    "/api/v1/automations/{automation_id}/examples/{example_id}/run": {"post": op(
        DATASET, "Run an example: not supported", 403, None, params=[AUTOMATION_ID, EXAMPLE_ID],
        description="Loupe does not execute automations: 403 with code not_supported. Run it where the "
                    "automation runs and record the run with exampleId set.")},
    "/api/v1/automations/{automation_id}/examples/{example_id}/{folder}": {
        "get": op(DATASET, "List an example's files", 200, obj({"files": arr(S)}),
                  params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER]),
        "post": op(DATASET, "Upload files (one or more parts named file)", 201, obj({"uploaded": arr(S)}),
                   params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER],
                   body=multipart({"file": arr(BINARY)}, ["file"]), also=STORES),
    },
    "/api/v1/automations/{automation_id}/examples/{example_id}/{folder}/{path}": {
        "get": op(DATASET, "Download an example file", 200, RAW, content_type=ANY_TYPE,
                  params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER, FILE_PATH]),
        "patch": op(DATASET, "Rename (new basename, same parent folder)", 200,
                    obj({"ok": B, "filename": S, "path": S}), params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER, FILE_PATH],
                    body=json_body(obj({"newFilename": S}), {"newFilename": "result.pdf"})),
        "delete": op(DATASET, "Delete an example file (200, also when already gone)", 200, OBJ,
                     params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER, FILE_PATH]),
    },
    "/api/v1/automations/{automation_id}/dataset/export": {"get": op(
        DATASET, "Export the dataset as a ZIP", 200, RAW, content_type="application/zip",
        params=[AUTOMATION_ID, q("exampleIds", "Comma list of example ids; all when left out.")],
        description="examples/<name>/input.json, input/…, expected.json, expected/…, meta.json.")},
    "/api/v1/automations/{automation_id}/dataset/import": {"post": op(
        DATASET, "Import a dataset ZIP", 200, {"oneOf": [
            obj({"mode": {"const": "append"}, "created": INT, "expectedSet": INT, "skipped": INT, "issues": arr(ANY)}),
            obj({"mode": {"const": "replace"}, "created": INT, "expectedSet": INT, "deleted": INT,
                 "filesDeleted": INT})]},
        params=[AUTOMATION_ID], body=multipart({"file": BINARY, "mode": {"type": "string",
                                                                          "enum": ["append", "replace"]}}, ["file"]),
        description="append skips names already present; replace empties the dataset first. Legacy layouts "
                    "(manifest.json, input/arguments.json …) are rejected with 400. Needs reviewer or lead.",
        also=STORES)},
    "/api/v1/webhooks/event-types": {"get": op(WEBHOOKS, "The event types a subscription can list", 200,
                                               obj({"data": arr(S)}), description="Needs ops.")},
    "/api/v1/webhooks/subscriptions": {
        "get": op(WEBHOOKS, "List webhook subscriptions", 200, page_of("WebhookSubscription"), params=PAGE,
                  description="Needs ops. The secret is never listed."),
        "post": op(WEBHOOKS, "Create a webhook subscription", 201, ref("WebhookSubscription"),
                   body=json_body(ref("WebhookSubscriptionMutation"), SUBSCRIPTION_EXAMPLE),
                   description="Needs ops. The answer carries the signing `secret` (whsec_…) this once. An unknown "
                               "event type, an http:// URL in production, or a URL resolving to a private or "
                               "loopback address (unless LOUPE_WEBHOOKS_ALLOW_PRIVATE) is a 400 naming the field. "
                               "eventTypes empty: every type; automationId null: every automation."),
    },
    "/api/v1/webhooks/subscriptions/{subscription_id}": {
        "get": op(WEBHOOKS, "One webhook subscription", 200, ref("WebhookSubscription"), params=[SUBSCRIPTION_ID]),
        "patch": op(WEBHOOKS, "Change, pause (active: false) or resume a subscription", 200,
                    ref("WebhookSubscription"), params=[SUBSCRIPTION_ID],
                    body=json_body(ref("WebhookSubscriptionMutation"), {"active": False}),
                    description="Resuming sends the deliveries that waited while it was paused."),
        "delete": op(WEBHOOKS, "Delete a subscription with its delivery log", 204, None, params=[SUBSCRIPTION_ID]),
    },
    "/api/v1/webhooks/subscriptions/{subscription_id}/test": {"post": op(
        WEBHOOKS, "Send a test event (webhook.test)", 202, ref("WebhookDelivery"), params=[SUBSCRIPTION_ID],
        description="Queued for the worker (manage.py db_worker); follow it in the deliveries list.")},
    "/api/v1/webhooks/subscriptions/{subscription_id}/deliveries": {"get": op(
        WEBHOOKS, "The delivery log of a subscription, newest first", 200, page_of("WebhookDelivery"),
        params=[SUBSCRIPTION_ID, *PAGE, q("status", "pending / succeeded / failed / dead.")])},
    "/api/v1/webhooks/deliveries/{delivery_id}/resend": {"post": op(
        WEBHOOKS, "Send a delivery again", 202, ref("WebhookDelivery"),
        params=[p("delivery_id", "Delivery id.")],
        description="Pending again with a new retry window; the receiver sees the same webhook-id.")},
    "/api/v1/webhooks/eigenpal": {"post": op(
        WEBHOOKS, "Inbound platform webhook (proxy mode)", 200, obj({"ok": B, "duplicate": B}, {"refreshed": B}),
        body=json_body(OBJ), description="Signed by the platform (Standard Webhooks headers webhook-id, "
                                         "webhook-timestamp, webhook-signature; secret LOUPE_INBOUND_WEBHOOK_SECRET), "
                                         "not by an API key. A bad signature is a 401, a timestamp more than 5 minutes "
                                         "off a 400; a webhook-id seen before answers 200 with duplicate: true. "
                                         "404 while the secret is unset.",
        also={503: error("LOUPE_INBOUND_WEBHOOK_SECRET is set but is no Standard Webhooks secret (whsec_…).")})},
}
