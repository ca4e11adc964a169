"""`manage.py check` (and every start) says when LOUPE_BACKEND cannot work: a dotted path that
does not import, or proxy mode without the upstream's URL or key."""

from django.conf import settings
from django.core.checks import Error, Info, Warning, register
from django.utils.module_loading import import_string

from backends.base import BackendError
from backends.eigenpal import EigenpalBackend


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
    elif base_url.rstrip("/").endswith(("/api/v1", "/v1")):
        problems.append(Warning("EIGENPAL_BASE_URL ends with an API path; give the root URL, Loupe adds /api/v1 or "
                                "/v1 for the API generation.", id="loupe.W002"))
    if not settings.EIGENPAL_API_KEY:
        problems.append(Warning("Proxy mode needs EIGENPAL_API_KEY, a key of the upstream API.", id="loupe.W003"))
    return problems


@register(deploy=True)
def upstream_generation(app_configs=None, **kwargs):
    """`manage.py check --deploy` in proxy mode asks the upstream which API generation it speaks
    (the probe of backends.eigenpal.dialects), so a wrong or unreachable upstream is reported
    before a page shows it. Not run on every start: it needs the network."""
    if settings.LOUPE_BACKEND != "backends.eigenpal.EigenpalBackend" or not settings.EIGENPAL_API_KEY:
        return []
    backend = EigenpalBackend()
    try:
        dialect = backend.dialect()
    except BackendError as exc:
        return [Error(f"The upstream API cannot be used: {exc}", id="loupe.E002",
                      hint="Check EIGENPAL_BASE_URL, EIGENPAL_API_KEY and EIGENPAL_API_GENERATION (docs/proxy.md).")]
    finally:
        backend.close()
    return [Info(f"The upstream at {settings.EIGENPAL_BASE_URL} speaks the {dialect.name} generation of the "
                 f"EigenPal API ({dialect.prefix}/).", id="loupe.I001")]
