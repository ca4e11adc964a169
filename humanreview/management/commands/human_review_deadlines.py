"""`manage.py human_review_deadlines`: announce pending tasks near their deadline, once each
(webhook `human_review.due_soon`, docs/human-review.md#deadlines). Run it every minute (cron,
a systemd timer, a Kubernetes CronJob). It never decides a task: overdue tasks stay pending."""

from django.core.management.base import BaseCommand

from humanreview.services import tasks_due_soon_announce


class Command(BaseCommand):
    help = "Announce pending human review tasks near their deadline (human_review.due_soon), once each."

    def handle(self, *args, **options):
        announced = tasks_due_soon_announce()
        self.stdout.write(f"announced {len(announced)} task(s) due soon")
