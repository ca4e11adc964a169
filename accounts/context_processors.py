from django.utils.functional import SimpleLazyObject

from accounts.roles import user_roles


def roles(request):
    """`roles` in templates, looked up lazily so pages that never ask pay no query."""
    return {"roles": SimpleLazyObject(lambda: user_roles(request.user))}
