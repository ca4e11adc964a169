"""`manage.py check` (and every start) says when LOUPE_BACKEND cannot work: a dotted path that
does not import, or proxy mode without the upstream's URL or key."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string


@register()
def backend_settings(app_configs=None, **kwargs):
    try:
        backend_class = import_string(settings.LOUPE_BACKEND)
    except ImportError as exc:
        return [Error(f"LOUPE_BACKEND={settings.LOUPE_BACKEND!r} cannot be imported: {exc}.",
                      hint="Use backends.local.LocalBackend or backends.eigenpal.EigenpalBackend.",
                      id="loupe.E001")]
    if getattr(backend_class, "name", "") != "eigenpal":
        return []
    problems = []
    base_url = settings.EIGENPAL_BASE_URL
    if not base_url.startswith(("http://", "https://")):
        problems.append(Warning("Proxy mode needs EIGENPAL_BASE_URL, the upstream API's root URL (http:// or "
                                f"https://); it is {base_url!r}.", id="loupe.W001"))
    elif base_url.rstrip("/").endswith("/api/v1"):
        problems.append(Warning("EIGENPAL_BASE_URL ends with /api/v1; give the root URL, Loupe adds /api/v1.",
                                id="loupe.W002"))
    if not settings.EIGENPAL_API_KEY:
        problems.append(Warning("Proxy mode needs EIGENPAL_API_KEY, a key of the upstream API.", id="loupe.W003"))
    return problems
