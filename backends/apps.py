from django.apps import AppConfig


class BackendsConfig(AppConfig):
    name = "backends"
    verbose_name = "Backends"

    def ready(self):
        from backends import checks  # noqa: F401 (registers the system checks)
