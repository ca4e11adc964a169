from django.apps import AppConfig


class HumanReviewConfig(AppConfig):
    name = "humanreview"
    verbose_name = "Human review tasks"
