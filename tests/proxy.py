"""Proxy mode in tests: settings that point Loupe's backend at a live Loupe's API."""

from django.contrib.auth.models import Group, User

from accounts.models import ApiKey


def service_key() -> str:
    """A bearer key for the upstream: its user holds the reviewer and lead roles, as the
    operator's key would."""
    user, _ = User.objects.get_or_create(username="loupe-proxy", defaults={"email": "proxy@example.com"})
    for role in ("reviewer", "lead"):
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return ApiKey.issue(user=user, name="proxy")[1]


def proxy_settings(settings, base_url: str) -> None:
    settings.LOUPE_BACKEND = "backends.eigenpal.EigenpalBackend"
    settings.EIGENPAL_BASE_URL = base_url
    settings.EIGENPAL_API_KEY = service_key()
    settings.EIGENPAL_RETRY_BACKOFF = 0
    settings.EIGENPAL_API_GENERATION = "feedback"
