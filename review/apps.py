from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"

    def ready(self):
        # The review rollups follow their runs when a runs service re-samples them
        # (runs.counters.RUN_ROLLUPS).
        from review.counters import run_rollups_register

        run_rollups_register()
