"""The Webhooks page (ops): subscriptions, their delivery log, test events and "send again"
(docs/webhooks.md). The same services as /api/v1/webhooks."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import role_required
from accounts.roles import OPS
from events.models import Delivery, Subscription
from events.services import (
    SubscriptionError,
    delivery_resend,
    subscription_create,
    subscription_delete,
    subscription_pause,
    subscription_resume,
    subscription_send_test,
)
from runs.ids import small_int
from web.forms.webhooks import SubscriptionForm

FORM_FIELD = {"url": "url", "eventTypes": "event_types", "description": "description", "automationId": "automation"}
LOG_ROWS = 50
NEW_SECRET = "loupe-webhook-new-secret"


def _subscription_or_404(pk: str) -> Subscription:
    number = small_int(pk)
    sub = Subscription.objects.filter(pk=number).first() if number is not None else None
    if sub is None:
        raise Http404("No such webhook subscription.")
    return sub


@require_http_methods(["GET", "POST"])
@role_required(OPS, action="manage webhooks")
def webhooks(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sub = subscription_create(url=data["url"], event_types=data["event_types"],
                                      automation_id=data["automation"], description=data["description"],
                                      user=request.user)
        except SubscriptionError as error:
            form.add_error(FORM_FIELD.get(error.field), str(error))
        else:
            # Shown once, on the next page: never again (only a hint of it is kept on screen).
            request.session[NEW_SECRET] = {"id": sub.pk, "secret": sub.secret}
            return redirect(f"{reverse('webhooks')}#subscription-{sub.pk}")
    new_secret = request.session.pop(NEW_SECRET, None) if request.method == "GET" else None
    subscriptions = list(Subscription.objects.select_related("created_by").order_by("id"))
    status = 400 if request.method == "POST" else 200
    return render(request, "events/webhooks.html", {"nav": "webhooks", "form": form, "subscriptions": subscriptions,
                                                    "new_secret": new_secret}, status=status)


@role_required(OPS, action="manage webhooks")
def webhook_detail(request: HttpRequest, pk: str) -> HttpResponse:
    sub = _subscription_or_404(pk)
    deliveries = list(Delivery.objects.filter(subscription=sub).select_related("message")
                      .prefetch_related("attempt_log").order_by("-created_at", "-id")[:LOG_ROWS])
    return render(request, "events/webhook_detail.html", {"nav": "webhooks", "sub": sub, "deliveries": deliveries,
                                                          "log_rows": LOG_ROWS})


@require_POST
@role_required(OPS, action="manage webhooks")
def webhook_action(request: HttpRequest, pk: str, action: str) -> HttpResponse:
    sub = _subscription_or_404(pk)
    back = request.POST.get("back") == "detail"
    if action == "pause":
        subscription_pause(subscription=sub, reason=f"Paused by {request.user.get_username()}.")
        messages.success(request, f"Paused {sub.url}: nothing is sent until you resume it.")
    elif action == "resume":
        subscription_resume(subscription=sub)
        messages.success(request, f"Resumed {sub.url}: waiting deliveries go out now.")
    elif action == "test":
        subscription_send_test(subscription=sub)
        messages.success(request, "Test event queued: its delivery appears in the log below once the worker sent it.")
        return redirect("webhook_detail", pk=sub.pk)
    elif action == "delete":
        subscription_delete(subscription=sub)
        messages.success(request, f"Deleted the subscription for {sub.url} and its delivery log.")
        return redirect("webhooks")
    else:
        raise Http404("Unknown action.")
    return redirect("webhook_detail", pk=sub.pk) if back else redirect(f"{reverse('webhooks')}#subscription-{sub.pk}")


@require_POST
@role_required(OPS, action="manage webhooks")
def delivery_resend_view(request: HttpRequest, pk: str, delivery_pk: str) -> HttpResponse:
    sub = _subscription_or_404(pk)
    number = small_int(delivery_pk)
    delivery = Delivery.objects.filter(pk=number, subscription=sub).first() if number is not None else None
    if delivery is None:
        raise Http404("No such delivery.")
    delivery_resend(delivery=delivery)
    messages.success(request, f"Sending {delivery.message_id} again.")
    return redirect(f"{reverse('webhook_detail', kwargs={'pk': sub.pk})}#delivery-{delivery.pk}")
