"""Set up and change the test provider's data from the test: `python -m tests.oidc_provider.ops
seed REDIRECT_URI POST_LOGOUT_URI` (users, groups, the client) and `groups USER g1,g2`."""

import os
import sys

import django


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")
    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    if argv[0] == "seed":
        call_command("migrate", verbosity=0)
        redirect_uri, post_logout_uri = argv[1], argv[2]
        for name, groups in (("alice", ["loupe-reviewers", "loupe-leads", "staff"]), ("bob", ["staff"])):
            user = User.objects.create_user(name, email=f"{name}@corp.example", password=f"{name}-pass")
            user.groups.set([Group.objects.get_or_create(name=group)[0] for group in groups])
        Application.objects.create(
            name="Loupe", client_id="loupe-client", client_secret="loupe-secret", client_type="confidential",
            authorization_grant_type="authorization-code", redirect_uris=redirect_uri,
            post_logout_redirect_uris=post_logout_uri, algorithm="RS256", skip_authorization=True)
    elif argv[0] == "groups":
        user = User.objects.get(username=argv[1])
        user.groups.set([Group.objects.get_or_create(name=group)[0] for group in argv[2].split(",") if group])


if __name__ == "__main__":
    main(sys.argv[1:])
