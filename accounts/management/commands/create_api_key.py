"""Create an API key for a user and print it once: the key itself is the last line of output."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiKey


class Command(BaseCommand):
    help = "Create a bearer API key for USER. The key is shown once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("user", help="username of the user the key acts as")
        parser.add_argument("--name", default="", help="a label for the key (e.g. the integration using it)")

    def handle(self, *args, user: str, name: str, **options):
        User = get_user_model()
        try:
            owner = User.objects.get(**{User.USERNAME_FIELD: user})
        except User.DoesNotExist:
            raise CommandError(f"No user {user!r}.") from None
        if not owner.is_active:
            raise CommandError(f"User {user!r} is inactive; its keys would be refused.")
        key, raw = ApiKey.issue(user=owner, name=name)
        self.stdout.write(f"Created API key {key.prefix}… for {owner} (id {key.pk}). It is not shown again.")
        self.stdout.write(raw)
