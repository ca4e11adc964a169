#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] == ["demo"]:
        os.environ.setdefault("LOUPE_DEMO", "1")  # a generated local SECRET_KEY (docs/security.md)
    # Every other command may use the key the demo generated for this install, once it exists
    # (`manage.py create_api_key USER` right after `manage.py demo`); the server does not.
    os.environ.setdefault("LOUPE_MANAGE", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
