"""The session's user loaded with their roles in one query (accounts.roles reads them), so a
page that checks a role does not spend a second query on the user's groups."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef

from accounts.roles import ALL_ROLES


def _role_flag(role: str) -> str:
    return f"loupe_role_{role}"


class RoleLoadingBackend(ModelBackend):
    """Django's ModelBackend (passwords, permissions) whose get_user also answers which of
    Loupe's roles the user holds: one EXISTS per role in the user's own SELECT."""

    def get_user(self, user_id):
        user_model = get_user_model()
        flags = {_role_flag(role): Exists(Group.objects.filter(user=OuterRef("pk"), name=role)) for role in ALL_ROLES}
        user = user_model._default_manager.annotate(**flags).filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        user._loupe_roles = frozenset(role for role in ALL_ROLES if getattr(user, _role_flag(role)))
        return user
