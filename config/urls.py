from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="queue", query_string=True), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("web.urls")),
    path("api/v1/", include("api.urls")),
    # The same API where SDK 0.20 looks for it (base_url = Loupe's root URL).
    path("v1/", include(("api.urls", "v1"), namespace="v1")),
]

# Paths under /api/ answer in the JSON error envelope; every other path gets the HTML page.
handler404 = "api.support.handler404"
handler500 = "api.support.handler500"
