"""Where runs, reviews and examples live: chosen by the LOUPE_BACKEND setting, a dotted path as
Django's EMAIL_BACKEND. One instance per process, so the remote backend's pooled HTTP client
(keep-alive connections) is shared by every request the process serves."""

import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

_lock = threading.Lock()
_instance = None


def get_backend():
    global _instance
    backend = _instance
    if backend is None:
        with _lock:
            if _instance is None:
                _instance = import_string(settings.LOUPE_BACKEND)()
            backend = _instance
    return backend


def reset_backend() -> None:
    """Drop the instance (its connections closed); the next get_backend() builds a new one."""
    global _instance
    with _lock:
        old, _instance = _instance, None
    if old is not None:
        old.close()


def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting == "LOUPE_BACKEND" or setting.startswith(("EIGENPAL_", "LOUPE_PROXY_")):
        reset_backend()


setting_changed.connect(_on_setting_changed)
