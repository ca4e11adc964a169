from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView
from mozilla_django_oidc.views import OIDCLogoutView

from accounts.oidc import OidcCallbackView, OidcRequestView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="queue", query_string=True), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    # Signs out here and, after a sign-in through the identity provider, there too (docs/sso.md).
    path("accounts/logout/", login_not_required(OIDCLogoutView.as_view()), name="logout"),
    path("accounts/oidc/login/", login_not_required(OidcRequestView.as_view()), name="oidc_authentication_init"),
    path("accounts/oidc/callback/", login_not_required(OidcCallbackView.as_view()), name="oidc_authentication_callback"),
    path("admin/", admin.site.urls),
    path("", include("web.urls")),
    path("api/v1/", include("api.urls")),
    # The same API where SDK 0.20 looks for it (base_url = Loupe's root URL).
    path("v1/", include(("api.urls", "v1"), namespace="v1")),
]

# Paths under /api/ answer in the JSON error envelope; every other path gets the HTML page.
handler404 = "api.support.handler404"
handler500 = "api.support.handler500"
