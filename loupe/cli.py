"""`loupe`: the command an installed wheel puts on PATH (docs/install.md).

    loupe demo [ADDR:PORT] [--no-serve]   migrate, load the demo data once, serve (as manage.py demo)
    loupe serve [ADDR:PORT] [--workers N] [--migrate] [-- GUNICORN ARGS]   production server (gunicorn)
    loupe migrate | createsuperuser | import_runs ... | any management command

Everything but `serve` is handed to Django's command line, so `loupe X` is `manage.py X`.
"""

import argparse
import os
import sys

DEFAULT_ADDRPORT = "127.0.0.1:8000"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _bind(addrport: str) -> str:
    host, sep, port = addrport.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", addrport
    if not (port.isascii() and port.isdigit()):
        raise SystemExit(f"loupe serve: {addrport!r} is not ADDR:PORT or PORT.")
    return f"{host or '127.0.0.1'}:{port}"


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loupe serve",
        description="Serve Loupe with gunicorn (WSGI app config.wsgi:application). Settings come from the "
                    "environment (SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS, ...; docs/deploy.md). Arguments after "
                    "'--' go to gunicorn, and so does GUNICORN_CMD_ARGS.")
    parser.add_argument("addrport", nargs="?", default=DEFAULT_ADDRPORT, help="ADDR:PORT or PORT (default 127.0.0.1:8000)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")),
                        help="gunicorn worker processes (default $WEB_CONCURRENCY or 2; about two per core)")
    parser.add_argument("--timeout", type=int, default=120, help="worker timeout in seconds (default 120)")
    parser.add_argument("--migrate", action="store_true", help="apply migrations before serving")
    return parser


def gunicorn_argv(options: argparse.Namespace, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", _bind(options.addrport),
            "--workers", str(options.workers), "--timeout", str(options.timeout), "--access-logfile", "-", *extra]


def serve(args: list[str]) -> None:
    extra: list[str] = []
    if "--" in args:
        at = args.index("--")
        args, extra = args[:at], args[at + 1:]
    options = serve_parser().parse_args(args)
    argv = gunicorn_argv(options, extra)
    _setup_django()
    import django
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()  # settings errors (no SECRET_KEY, a bad variable) once, readable, not per worker
    except ImproperlyConfigured as error:
        raise SystemExit(f"loupe serve: {error}") from None
    if options.migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=1)
    print(f"Loupe on http://{argv[argv.index('--bind') + 1]}/ (data in {settings.VAR_DIR}, database "
          f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})", file=sys.stderr, flush=True)
    os.execv(sys.executable, argv)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    _setup_django()
    if args[:1] == ["serve"]:
        serve(args[1:])
        return
    if args[:1] == ["demo"]:
        os.environ.setdefault("LOUPE_DEMO", "1")  # a generated local SECRET_KEY (docs/security.md)
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["loupe", *args])
    except ImproperlyConfigured as error:  # a missing SECRET_KEY, a bad variable: the message, not a traceback
        raise SystemExit(f"loupe: {error}") from None


if __name__ == "__main__":
    main()
