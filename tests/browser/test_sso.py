"""Sign-in through a real OpenID Connect provider, end to end in Chromium (docs/sso.md).

The provider is django-oauth-toolkit in a second Django process (tests/oidc_provider/) on a free
loopback port, with an RS256 key generated here; one provider for the whole module. Its users:
alice in groups loupe-reviewers, loupe-leads and staff; Loupe maps loupe-reviewers -> reviewer
and loupe-leads -> lead.
"""

import copy
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from playwright.sync_api import expect

from accounts import oidc
from config.env import origin_of
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("oidc-provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings", "PYTHONPATH": str(ROOT),
           "OIDC_PROVIDER_DB": str(folder / "provider.sqlite3"), "OIDC_PROVIDER_RSA_KEY_FILE": str(folder / "key.pem"),
           "OIDC_PROVIDER_MODE_FILE": str(folder / "mode")}
    env.pop("DATABASE_URL", None)

    def ops(*args):
        subprocess.run([sys.executable, "-m", "tests.oidc_provider.ops", *args], env=env, cwd=ROOT, check=True,
                       timeout=120)

    ops("seed", f"{live_server.url}/accounts/oidc/callback/", f"{live_server.url}/accounts/login/")
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
                               env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/o/.well-known/openid-configuration", timeout=2).raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the OIDC provider did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)

    class Provider:
        issuer = f"{url}/o"
        mode_file = folder / "mode"
        set_groups = staticmethod(lambda user, groups: ops("groups", user, ",".join(groups)))

    yield Provider
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def sso(settings, provider):
    settings.LOUPE_OIDC_ISSUER = provider.issuer
    settings.LOUPE_OIDC_CLIENT_ID = "loupe-client"
    settings.LOUPE_OIDC_CLIENT_SECRET = "loupe-secret"
    settings.LOUPE_OIDC_PROVIDER_NAME = "Corp SSO"
    settings.LOUPE_OIDC_ROLE_MAP = {"loupe-reviewers": "reviewer", "loupe-leads": "lead"}
    # What config/settings.py adds when LOUPE_OIDC_ISSUER is set at start: the provider may receive
    # the sign-out form's redirect.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"].append(origin_of(provider.issuer))
    settings.CONTENT_SECURITY_POLICY = policy
    oidc._discover.cache_clear()
    provider.mode_file.write_text("")
    return provider


def _roles(username: str) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


def _sign_in(page, username: str, password: str):
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with Corp SSO").click()
    # Wait for where the click leads: the provider's form (no provider session yet), or back at
    # Loupe signed in or refused. (Counting the form at once raced the redirects: once the count
    # came before the provider's page and the sign-in waited there.)
    provider_form = page.get_by_label("Provider user")
    expect(provider_form.or_(page.get_by_role("button", name="Sign out")).or_(page.get_by_role("alert")).first).to_be_visible()
    if provider_form.count():
        provider_form.fill(username)
        page.get_by_label("Provider password").fill(password)
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda url: "127.0.0.1" not in url or "/o/" not in url)
    page.wait_for_load_state()


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_sign_in_roles_from_groups_removed_upstream_and_logout_at_the_provider(page, live_server, sso, transactional_db):
    _sign_in(page, "alice", "alice-pass")
    assert "/queue/" in page.url, page.url
    alice = User.objects.get(username="alice")
    assert alice.email == "alice@corp.example" and not alice.has_usable_password()
    assert _roles("alice") == {"reviewer", "lead"}  # "staff" maps to no role
    page.set_viewport_size({"width": 1280, "height": 720})
    screenshot(page, "sso-signed-in", full_page=False)

    # The provider drops alice from loupe-leads; signing out ends the provider's session too,
    # so the next sign-in asks the provider again and brings the new groups.
    sso.set_groups("alice", ["loupe-reviewers", "staff"])
    _sign_out(page)
    page.goto(f"{sso.issuer}/authorize/?response_type=code&client_id=loupe-client&scope=openid")
    assert page.get_by_label("Provider user").count() == 1, "the provider session survived Loupe's sign-out"
    _sign_in(page, "alice", "alice-pass")
    assert "/queue/" in page.url
    assert _roles("alice") == {"reviewer"}


@pytest.mark.parametrize("mode", ["forged", "expired"])
def test_a_forged_or_expired_id_token_is_refused(page, live_server, sso, transactional_db, mode):
    sso.mode_file.write_text(mode)
    _sign_in(page, "bob", "bob-pass")
    assert "/accounts/login/?sso=failed" in page.url, page.url
    assert page.get_by_role("alert").inner_text().startswith("Sign-in through Corp SSO did not succeed")
    assert not User.objects.filter(username="bob").exists()
    page.goto("/queue/")
    assert "/accounts/login/" in page.url
    if mode == "forged":
        page.goto("/accounts/login/?sso=failed")
        page.set_viewport_size({"width": 1280, "height": 720})
        screenshot(page, "sso-refused", full_page=False)


def test_with_local_passwords_off_only_the_provider_signs_in(client, settings, sso, django_user_model):
    django_user_model.objects.create_user("local", password="local-pass")
    settings.LOUPE_LOCAL_PASSWORDS = False
    settings.AUTHENTICATION_BACKENDS = ["accounts.oidc.OidcBackend"]
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Corp SSO" in page and 'name="password"' not in page
    answer = client.post("/accounts/login/", {"username": "local", "password": "local-pass"})
    assert answer.status_code == 200 and "_auth_user_id" not in client.session
