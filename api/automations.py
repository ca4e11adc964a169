"""Automations as the EigenPal API serves them (docs/api-feedback.md)."""



from django.db.models import Q
from django.http import HttpRequest

from api.support import (
    Query,
    api_response,
    api_view,
    iso,
    limit_and_offset,
    not_found,
)
from runs.models import (
    Automation,
    AutomationKind,
)


def automation_to_dict(automation: Automation, *, detail: bool = False) -> dict:
    data = {
        "id": str(automation.pk),
        "type": automation.kind,
        "slug": automation.slug,
        "name": automation.name or None,
        "createdAt": iso(automation.created_at),
        "description": automation.description or None,
        "status": "active",
        # Loupe records runs and never starts them, so no trigger is on.
        "triggers": {"api": False, "email": False, "manual": False, "cron": False},
        "implementationAvailable": False,
        "updatedAt": iso(automation.updated_at),
    }
    if detail:
        data.update(inputSchema=None, outputSchema=None)
    return data


@api_view()
def automations_list(request: HttpRequest):
    query = Query(request.GET)
    limit, offset = limit_and_offset(query)
    qs = Automation.objects.order_by("kind", "slug")
    kind = query.choice("type", AutomationKind.values)
    if kind:
        qs = qs.filter(kind=kind)
    search = query.get("search")
    if search:
        qs = qs.filter(Q(slug__icontains=search) | Q(name__icontains=search) | Q(description__icontains=search))
    page = list(qs[offset:offset + limit])
    return api_response(request, {"data": [automation_to_dict(a) for a in page], "total": qs.count(),
                                  "limit": limit, "offset": offset})


def get_automation(ref: str) -> Automation:
    """By id or by the typed alias `workflows.<slug>` / `agents.<slug>`."""
    try:
        return Automation.objects.by_ref(ref)
    except Automation.DoesNotExist:
        raise not_found(f"No automation {ref!r}; use its id or workflows.<slug> / agents.<slug>.",
                        field="id") from None


@api_view()
def automation_detail(request: HttpRequest, automation_id: str):
    return api_response(request, automation_to_dict(get_automation(automation_id), detail=True))
