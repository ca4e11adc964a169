from django.apps import AppConfig


class DsreviewConfig(AppConfig):
    name = "dsreview"
    verbose_name = "Dataset review requests"
