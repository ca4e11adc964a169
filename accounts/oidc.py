"""Sign-in with the company's OpenID Connect provider (docs/sso.md), on mozilla-django-oidc.

What Loupe adds to the library:
- the provider's endpoints come from its discovery document (`LOUPE_OIDC_ISSUER` +
  `/.well-known/openid-configuration`, fetched once per process, its `issuer` checked);
- the ID token is checked for issuer, audience and expiry as well as signature (RS256 from the
  provider's JWKS) and nonce; any refusal is a failed sign-in, never a 500;
- users are created on first sign-in (username from `LOUPE_OIDC_USERNAME_CLAIM`, unusable
  password); a local account that has a password is never taken over by a provider identity;
- the roles reviewer / lead / ops follow the groups claim (`LOUPE_OIDC_GROUPS_CLAIM`, mapped by
  `LOUPE_OIDC_ROLE_MAP`) at every sign-in: added when the provider lists them, removed when not;
- logout also ends the session at the provider (its `end_session_endpoint`).
"""

import functools
import logging
from urllib.parse import urlencode

import httpx
import jwt
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView
from requests import RequestException

from accounts.backends import RoleLoadingBackend
from accounts.roles import ALL_ROLES

logger = logging.getLogger("loupe.oidc")


def oidc_enabled() -> bool:
    return bool(settings.LOUPE_OIDC_ISSUER)


@functools.cache
def _discover(issuer: str) -> dict:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = httpx.get(url, timeout=settings.LOUPE_OIDC_TIMEOUT).raise_for_status().json()
    if document.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise ImproperlyConfigured(f"The discovery document at {url} names issuer {document.get('issuer')!r}, "
                                   f"not LOUPE_OIDC_ISSUER {issuer!r}.")
    return document


def discovery() -> dict:
    """The provider's discovery document (cached per process; a failed fetch is retried next time)."""
    return _discover(settings.LOUPE_OIDC_ISSUER)


def role_map() -> dict[str, str]:
    """Provider group -> Loupe role, from LOUPE_OIDC_ROLE_MAP ("group=role,..."), by default each
    role's own name."""
    return settings.LOUPE_OIDC_ROLE_MAP or {role: role for role in ALL_ROLES}


def roles_from_claims(claims: dict) -> set[str]:
    groups = claims.get(settings.LOUPE_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    mapping = role_map()
    return {mapping[group] for group in groups if isinstance(group, str) and group in mapping}


def roles_sync(user, claims: dict) -> None:
    """The user's Loupe roles become exactly those the provider's groups map to."""
    wanted = roles_from_claims(claims)
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in wanted} if wanted else {}
    held = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
    if wanted - held:
        user.groups.add(*(groups[name] for name in wanted - held))
    if held - wanted:
        user.groups.remove(*Group.objects.filter(name__in=held - wanted))
    user._loupe_roles = frozenset(wanted)


class OidcBackend(OIDCAuthenticationBackend, RoleLoadingBackend):
    """Authenticates the provider's callback only (never a password); loads session users with
    their roles like RoleLoadingBackend."""

    def __init__(self, *args, **kwargs):  # endpoints are read lazily from discovery, not from settings
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: discovery()["token_endpoint"])
    OIDC_OP_USER_ENDPOINT = property(lambda self: discovery()["userinfo_endpoint"])
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: discovery()["jwks_uri"])
    OIDC_RP_CLIENT_ID = property(lambda self: settings.LOUPE_OIDC_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.LOUPE_OIDC_CLIENT_SECRET)

    def authenticate(self, request, **kwargs):
        if not oidc_enabled() or request is None or "code" not in request.GET:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, jwt.InvalidTokenError, RequestException, httpx.HTTPError, KeyError,
                ValueError) as error:
            logger.warning("OIDC sign-in refused: %s: %s", type(error).__name__, error)
            return None

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)  # signature (JWKS), expiry (PyJWT), nonce
        if payload.get("iss", "").rstrip("/") != discovery()["issuer"].rstrip("/"):
            raise SuspiciousOperation("ID token from another issuer.")
        audience = payload.get("aud")
        if settings.LOUPE_OIDC_CLIENT_ID not in (audience if isinstance(audience, list) else [audience]):
            raise SuspiciousOperation("ID token for another client.")
        if "exp" not in payload:
            raise SuspiciousOperation("ID token without expiry.")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        # The ID token's claims, completed by the userinfo endpoint's (groups may be in either).
        return {**payload, **super().get_userinfo(access_token, id_token, payload)}

    def _username(self, claims: dict) -> str:
        name = claims.get(settings.LOUPE_OIDC_USERNAME_CLAIM) or claims.get("sub")
        if not name or not isinstance(name, str):
            raise SuspiciousOperation("The provider sent no username claim.")
        return name[:150]

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(username=self._username(claims))

    def verify_claims(self, claims):
        return bool(claims.get("sub"))

    def create_user(self, claims):
        user = self.UserModel(username=self._username(claims), email=claims.get("email") or "",
                              first_name=(claims.get("given_name") or "")[:150],
                              last_name=(claims.get("family_name") or "")[:150])
        user.set_unusable_password()
        user.save()
        roles_sync(user, claims)
        return user

    def update_user(self, user, claims):
        if user.has_usable_password():
            raise SuspiciousOperation(f"{user.username} is a local account with a password; it is not "
                                      "signed in through the identity provider.")
        email = claims.get("email") or user.email
        if email != user.email:
            user.email = email
            user.save(update_fields=["email"])
        roles_sync(user, claims)
        return user


class OidcRequestView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider's authorization endpoint (404 when SSO is off)."""

    def __init__(self, *args, **kwargs):
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.LOUPE_OIDC_CLIENT_ID

    @property
    def OIDC_OP_AUTH_ENDPOINT(self):  # noqa: N802 (the library's attribute name)
        return discovery()["authorization_endpoint"]

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        return super().get(request)


class OidcCallbackView(OIDCAuthenticationCallbackView):
    def get(self, request):
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        return super().get(request)


def provider_logout_url(request) -> str:
    """OIDC_OP_LOGOUT_URL_METHOD: the provider's end-session URL with the ID token as hint, back to
    Loupe's sign-in page afterwards; Loupe's own page when there is no provider session."""
    back = request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL))
    id_token = request.session.get("oidc_id_token")
    if not oidc_enabled() or not id_token:
        return back
    try:
        endpoint = discovery().get("end_session_endpoint")
    except (httpx.HTTPError, ImproperlyConfigured, ValueError):
        return back
    if not endpoint:
        return back
    return endpoint + "?" + urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": back,
                                       "client_id": settings.LOUPE_OIDC_CLIENT_ID})
