"""`manage.py db_worker`: django-tasks-db's worker, unchanged, after one recovery step.

This app is listed before `django_tasks_db` in INSTALLED_APPS, so this command is the one
Django runs. Before the library's loop starts it enqueues again the webhook deliveries whose
task a killed worker left behind, and makes sure a sweep is scheduled (events/tasks.py)."""

from django_tasks_db.management.commands.db_worker import Command as LibraryCommand

from events.tasks import worker_started


class Command(LibraryCommand):
    def handle(self, *args, **options):
        recovered = worker_started()
        if recovered and options.get("verbosity", 1) >= 1:
            self.stdout.write(f"Recovered {recovered} webhook deliveries whose task was lost.")
        return super().handle(*args, **options)
