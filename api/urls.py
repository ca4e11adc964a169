"""The JSON API under /api/v1/ (EigenPal contract). Paths have no trailing slash, and every
pattern is a `route()` naming the methods it serves, which the OpenAPI test checks against
api/openapi.py. File paths use the `path` converter, so both a decoded `sub/e 1.json` and
a `%2F`-encoded one (the generated client) reach the same file."""

from django.urls import path, register_converter

from api import agreement as agreement_api
from api import auth as accounts_api
from api import automations as automations_api
from api import calibration as calibration_api
from api import dataset_reviews as dsreview_api
from api import datasets as datasets_api
from api import expected as expected_api
from api import feedback as feedback_api
from api import humanreviews as human_reviews_api
from api import ingest as ingest_api
from api import openapi
from api import reviews as reviews_api
from api import runs as runs_api
from api import sampling as sampling_api
from api import webhooks as webhooks_api
from api.support import route


class FolderConverter:
    regex = "expected|input"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FolderConverter, "folder")

EXAMPLE = "automations/<str:automation_id>/examples/<str:example_id>"
DSREVIEW = "automations/<str:automation_id>/dataset-review-requests/<str:review_id>"

urlpatterns = [
    path("auth/check", route(GET=accounts_api.auth_check), name="api-auth-check"),
    path("openapi.json", route(GET=openapi.openapi_json), name="api-openapi"),
    path("ingest/runs", route(POST=ingest_api.ingest_runs), name="api-ingest-runs"),
    path("runs", route(GET=runs_api.runs_list, POST=runs_api.run_start), name="api-runs"),
    path("runs/<str:run_id>", route(GET=runs_api.run_detail), name="api-run"),
    path("runs/<str:run_id>/steps", route(GET=runs_api.run_steps), name="api-run-steps"),
    path("runs/<str:run_id>/steps/<str:step_id>", route(GET=runs_api.run_step), name="api-run-step"),
    path("runs/<str:run_id>/trace", route(GET=runs_api.run_trace), name="api-run-trace"),
    path("runs/<str:run_id>/events", route(GET=runs_api.run_events), name="api-run-events"),
    path("runs/<str:run_id>/usage", route(GET=runs_api.run_usage), name="api-run-usage"),
    path("runs/<str:run_id>/rerun", route(POST=runs_api.run_rerun), name="api-run-rerun"),
    path("runs/<str:run_id>/scores", route(GET=runs_api.run_scores), name="api-run-scores"),
    path("runs/<str:run_id>/artifacts", route(GET=runs_api.artifacts_list), name="api-run-artifacts"),
    path("runs/<str:run_id>/artifacts/<path:path>", route(GET=runs_api.artifact_download),
         name="api-run-artifact"),
    path("runs/<str:run_id>/promote", route(POST=expected_api.run_promote), name="api-run-promote"),
    path("runs/<str:run_id>/feedback", route("feedback", GET=feedback_api.feedback_get, PUT=feedback_api.feedback_put,
                                             DELETE=feedback_api.feedback_delete), name="api-run-feedback"),
    path("runs/<str:run_id>/feedback/expected", route("feedback", GET=feedback_api.expected_list,
                                                      POST=expected_api.expected_create), name="api-run-expected"),
    path("runs/<str:run_id>/feedback/expected/<path:filename>",
         route("feedback", GET=expected_api.expected_file_get, PATCH=expected_api.expected_file_rename,
               DELETE=expected_api.expected_file_delete), name="api-run-expected-file"),
    # The reviews generation (SDK 0.20, docs/api-reviews.md).
    path("runs/<str:run_id>/reviews", route("reviews", GET=reviews_api.reviews_get, PUT=reviews_api.reviews_put,
                                            PATCH=reviews_api.reviews_patch, DELETE=reviews_api.reviews_delete),
         name="api-run-reviews"),
    path("runs/<str:run_id>/reviews/expected", route("reviews", GET=reviews_api.reviews_expected_list,
                                                     POST=expected_api.expected_create), name="api-run-reviews-expected"),
    path("runs/<str:run_id>/reviews/expected/<path:filename>",
         route("reviews", GET=expected_api.expected_file_get, PATCH=expected_api.expected_file_rename,
               DELETE=expected_api.expected_file_delete), name="api-run-reviews-expected-file"),
    path("automations", route(GET=automations_api.automations_list), name="api-automations"),
    path("automations/<str:automation_id>", route(GET=automations_api.automation_detail), name="api-automation"),
    path("automations/<str:automation_id>/estimate", route(GET=automations_api.automation_estimate),
         name="api-automation-estimate"),
    path("automations/<str:automation_id>/agreement", route(GET=agreement_api.agreement_get),
         name="api-automation-agreement"),
    path("automations/<str:automation_id>/calibration", route(GET=calibration_api.automation_calibration),
         name="api-automation-calibration"),
    path("automations/<str:automation_id>/sampling",
         route(GET=sampling_api.sampling_get, PUT=sampling_api.sampling_put), name="api-automation-sampling"),
    path("automations/<str:automation_id>/reviews/health", route("reviews", GET=automations_api.automation_review_health),
         name="api-automation-review-health"),
    path("automations/<str:automation_id>/examples",
         route(GET=datasets_api.examples_list, POST=datasets_api.example_create), name="api-examples"),
    path(EXAMPLE, route(GET=datasets_api.example_get, PATCH=datasets_api.example_update,
                        DELETE=datasets_api.example_delete), name="api-example"),
    path(f"{EXAMPLE}/run", route(POST=datasets_api.example_run), name="api-example-run"),
    path(f"{EXAMPLE}/<folder:folder>",
         route(GET=datasets_api.example_files_list, POST=datasets_api.example_files_upload),
         name="api-example-files"),
    path(f"{EXAMPLE}/<folder:folder>/<path:path>",
         route(GET=datasets_api.example_file_get, PATCH=datasets_api.example_file_rename,
               DELETE=datasets_api.example_file_delete), name="api-example-file"),
    path("automations/<str:automation_id>/dataset/export", route(GET=datasets_api.dataset_export),
         name="api-dataset-export"),
    path("automations/<str:automation_id>/dataset/import", route(POST=datasets_api.dataset_import),
         name="api-dataset-import"),
    # Human review tasks (SDK 0.20 `human_reviews`, docs/human-review.md).
    path("human-reviews", route(GET=human_reviews_api.tasks_list), name="api-human-reviews"),
    path("human-reviews/<str:task_id>", route(GET=human_reviews_api.task_get), name="api-human-review"),
    path("human-reviews/<str:task_id>/fields", route(PUT=human_reviews_api.task_field_put),
         name="api-human-review-fields"),
    path("human-reviews/<str:task_id>/approve", route(POST=human_reviews_api.task_approve_post),
         name="api-human-review-approve"),
    path("human-reviews/<str:task_id>/reject", route(POST=human_reviews_api.task_reject_post),
         name="api-human-review-reject"),
    path("human-reviews/<str:task_id>/files/<str:file_id>/content", route(GET=human_reviews_api.task_file_content),
         name="api-human-review-file"),
    path("automations/<str:automation_id>/review-policy",
         route(GET=human_reviews_api.policy_get, PUT=human_reviews_api.policy_put), name="api-review-policy"),
    path("webhooks/event-types", route(GET=webhooks_api.event_types), name="api-webhook-event-types"),
    path("webhooks/subscriptions", route(GET=webhooks_api.subscriptions_list,
                                         POST=webhooks_api.subscription_create_view), name="api-webhook-subscriptions"),
    path("webhooks/subscriptions/<str:subscription_id>",
         route(GET=webhooks_api.subscription_get, PATCH=webhooks_api.subscription_patch,
               DELETE=webhooks_api.subscription_delete_view), name="api-webhook-subscription"),
    path("webhooks/subscriptions/<str:subscription_id>/test", route(POST=webhooks_api.subscription_test),
         name="api-webhook-subscription-test"),
    path("webhooks/subscriptions/<str:subscription_id>/deliveries", route(GET=webhooks_api.deliveries_list),
         name="api-webhook-deliveries"),
    path("webhooks/deliveries/<str:delivery_id>/resend", route(POST=webhooks_api.delivery_resend_view),
         name="api-webhook-delivery-resend"),
    path("webhooks/eigenpal", route(POST=webhooks_api.platform_webhook), name="api-webhook-eigenpal"),
    # Dataset review requests (SDK 0.20, docs/dataset-reviews.md).
    path("dataset-review-requests", route("reviews", GET=dsreview_api.inbox), name="api-dsreview-inbox"),
    path("automations/<str:automation_id>/dataset-review-requests",
         route("reviews", GET=dsreview_api.requests_list, POST=dsreview_api.request_create), name="api-dsreviews"),
    path(DSREVIEW, route("reviews", GET=dsreview_api.request_get, PATCH=dsreview_api.request_update),
         name="api-dsreview"),
    path(f"{DSREVIEW}/items", route("reviews", GET=dsreview_api.items_list), name="api-dsreview-items"),
    path(f"{DSREVIEW}/items/<str:item_id>", route("reviews", PATCH=dsreview_api.item_update),
         name="api-dsreview-item"),
    path(f"{DSREVIEW}/items/<str:item_id>/files/<path:path>", route("reviews", GET=dsreview_api.item_file_get),
         name="api-dsreview-item-file"),
    path(f"{DSREVIEW}/events", route("reviews", GET=dsreview_api.events_list), name="api-dsreview-events"),
    path("docs", openapi.api_docs, name="api-docs"),
]
