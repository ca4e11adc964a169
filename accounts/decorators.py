from functools import wraps

from django.shortcuts import render

from accounts.roles import has_role


def forbidden(request, message: str):
    """The 403 page: says what is needed, instead of a bare 'Forbidden'."""
    return render(request, "403.html", {"message": message}, status=403)


def role_required(*roles: str, action: str = "do this"):
    """Refuse (403 with a clear page) unless the user holds one of `roles`.

    Login is enforced globally by LoginRequiredMiddleware; this only checks the role.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                needed = " or ".join(roles)
                return forbidden(request, f"You need the {needed} role to {action}. Ask an administrator.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
