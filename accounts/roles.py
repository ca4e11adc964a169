"""Roles are Django groups created by a migration: reviewer, lead, ops (superusers have all)."""

REVIEWER = "reviewer"
LEAD = "lead"
OPS = "ops"
ALL_ROLES = (REVIEWER, LEAD, OPS)


def user_roles(user) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return frozenset(ALL_ROLES)
    cached = getattr(user, "_loupe_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        user._loupe_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    """True when the user holds any of the given roles."""
    return bool(user_roles(user) & set(roles))
