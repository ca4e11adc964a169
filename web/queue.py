"""The queue page: one automation's (or every automation's) runs, filtered, keyset-paged."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from web.backend_errors import backend_errors
from web.queue_list import RunQueue


@require_GET
@backend_errors
def queue(request: HttpRequest) -> HttpResponse:
    run_queue = RunQueue(request.GET, page_size=settings.LOUPE_QUEUE_PAGE_SIZE)
    # queue_url: the page's links to itself (some twenty), reversed once.
    context = {"nav": "queue", "queue": run_queue, "page": run_queue.page(), "backend": run_queue.backend,
               "queue_url": reverse("queue")}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "review/partials/queue_results.html", context)
    return render(request, "review/queue.html", context)
