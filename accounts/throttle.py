"""Sign-in throttling (docs/security.md#sign-in-throttling): django-axes counts failed sign-ins
per account and per address and locks either out for LOUPE_SIGNIN_LOCKOUT_MINUTES after
LOUPE_SIGNIN_FAILURE_LIMIT failures. This module is Loupe's side of it: which address a
request comes from, the backend that checks the lock, and the page a locked-out sign-in gets."""

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The address sign-ins and API keys are counted by: LOUPE_CLIENT_IP_HEADER (set only behind
    a proxy that writes that header itself, e.g. X-Real-IP) or else the peer address."""
    header = settings.LOUPE_CLIENT_IP_HEADER
    if header:
        value = request.headers.get(header, "")
        # X-Forwarded-For lists client, proxies...: the proxy appends the peer it saw last.
        value = value.split(",")[-1].strip()
        if value:
            return value
    return request.META.get("REMOTE_ADDR") or None


class SignInThrottleBackend(AxesStandaloneBackend):
    """axes' check that refuses a locked-out account or address before any password is tried.
    An authenticate() call without a request (the test client's login(), code that checks a
    password) is no sign-in over HTTP: it passes on to the password backends unthrottled."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_minutes(request: HttpRequest | None = None) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 0


def signin_locked(request: HttpRequest, _original_response=None, _credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page again, the typed user name kept, with the reason
    and how long; 429 with Retry-After."""
    minutes = lockout_minutes(request)
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "")[:150]
    form = AuthenticationForm(request, initial={"username": username})
    message = (f"Too many failed sign-ins for this account or from this address. Signing in is blocked for "
               f"{minutes} minutes; an admin can unlock it sooner.") if minutes else (
               "Too many failed sign-ins for this account or from this address. Ask an admin to unlock it.")
    response = render(request, "registration/login.html",
                      {"form": form, "lockout_message": message, "next": request.POST.get("next", "")},
                      status=429)
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response
