"""GET /api/v1/auth/check: who the bearer key acts as (docs/api-feedback.md#auth-check)."""

from django.conf import settings
from django.http import HttpRequest

from accounts.roles import user_roles
from api.support import api_response, api_view


@api_view()
def auth_check(request: HttpRequest):
    """Loupe is one tenant; `scope` lists the roles of the key's user (superusers hold all)."""
    user, key = request.user, request.api_key
    return api_response(request, {
        "ok": True,
        "tenantId": getattr(settings, "LOUPE_TENANT_ID", "loupe"),
        "tenantSlug": getattr(settings, "LOUPE_TENANT_ID", "loupe"),
        "tenantName": getattr(settings, "LOUPE_TENANT_NAME", "Loupe"),
        "userId": str(user.pk),
        "keyId": str(key.pk),
        "email": user.email or None,
        "name": user.get_full_name() or user.get_username(),
        "scope": sorted(user_roles(user)),
        "wildcardGranted": user.is_superuser,
    })
