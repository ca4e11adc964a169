from django.conf import settings
from django.utils.functional import SimpleLazyObject

from accounts.roles import user_roles


def roles(request):
    """`roles` in templates, looked up lazily so pages that never ask pay no query."""
    return {"roles": SimpleLazyObject(lambda: user_roles(request.user))}


def sign_in(request):
    """How the sign-in page offers sign-in: the identity provider (docs/sso.md) and/or passwords."""
    return {"sso_enabled": bool(settings.LOUPE_OIDC_ISSUER), "sso_name": settings.LOUPE_OIDC_PROVIDER_NAME,
            "local_passwords": settings.LOUPE_LOCAL_PASSWORDS}
