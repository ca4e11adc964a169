"""`python manage.py demo [ADDR:PORT]`: migrate, load demo data once, serve."""

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from demo.load import DEMO_PASSWORD, DEMO_USERNAME, demo_user_ensure, load_demo
from runs.models import Automation

DEFAULT_ADDRPORT = "127.0.0.1:8000"


LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")


def _host_port(addrport: str) -> tuple[str, str]:
    host, _, port = addrport.rpartition(":") if ":" in addrport else ("", "", addrport)
    if not (port.isascii() and port.isdigit()):
        raise CommandError(f"{addrport!r} is not ADDR:PORT or PORT.")
    return host or "127.0.0.1", port


def _url(addrport: str) -> str:
    host, port = _host_port(addrport)
    if host in ("0.0.0.0", "0", "[::]"):
        host = "127.0.0.1"  # listens everywhere; this machine reaches it on loopback
    return f"http://{host}:{port}/"


class Command(BaseCommand):
    help = (
        "Run Loupe with demo data: apply migrations, load demo automations, runs and reviews when the "
        "database has no automations yet, make sure the demo/demo account exists, and start the "
        "development server (default 127.0.0.1:8000). Static files are served by WhiteNoise, so no "
        "collectstatic is needed."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default=DEFAULT_ADDRPORT, help="ADDR:PORT or PORT to serve on.")
        parser.add_argument("--runs", type=int, default=3000, help="Runs to generate on first load (default 3000).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed of the demo data (default 7).")
        parser.add_argument("--no-serve", action="store_true", help="Load the data and exit without serving.")
        parser.add_argument("--public", action="store_true",
                            help="Allow an address beyond loopback (e.g. 0.0.0.0:8080). The demo accounts have "
                                 "known passwords: anyone who reaches the address can sign in as a superuser.")

    def handle(self, *args, addrport: str, runs: int, seed: int, no_serve: bool, public: bool = False, **options):
        if runs < 1:
            raise CommandError("--runs must be at least 1.")
        url = _url(addrport)
        host, _ = _host_port(addrport)
        if host not in LOOPBACK and not public:
            raise CommandError(
                f"{host} is reachable from other machines, and the demo superuser {DEMO_USERNAME} has the known "
                f"password {DEMO_PASSWORD!r}. Serve on loopback (e.g. 127.0.0.1:8080), or add --public if you "
                "really mean to expose it."
            )
        verbosity = options["verbosity"]
        call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        if Automation.objects.exists():
            self.stdout.write("Automations already exist; keeping the data as it is.")
        else:
            started = time.monotonic()
            summary = load_demo(runs=runs, seed=seed, progress=verbosity > 0)
            chips = ", ".join(f"{count} {chip}" for chip, count in sorted(summary.chips.items()))
            self.stdout.write(
                f"Loaded {summary.runs} runs, {summary.reviews} reviews ({chips}) and "
                f"{summary.examples} dataset examples in {time.monotonic() - started:.1f} s."
            )
        demo_user_ensure()
        line = "=" * 64
        self.stdout.write(self.style.SUCCESS(
            f"\n{line}\n  Loupe demo\n  Open   {url}\n  Log in {DEMO_USERNAME} / {DEMO_PASSWORD}"
            f"\n  (reviewers maya, sam, jonas and lead priya also use the password {DEMO_PASSWORD})\n{line}\n"
        ))
        if host not in LOOPBACK:
            self.stderr.write(self.style.WARNING(
                f"WARNING: serving on {host}, beyond this machine. Anyone who can reach it can sign in as "
                f"{DEMO_USERNAME} / {DEMO_PASSWORD}, a superuser. Use it on a trusted network only."
            ))
            # The demo answers to whatever name it is reached by (ALLOWED_HOSTS defaults to loopback).
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "*"]
        if no_serve:
            return
        call_command("runserver", addrport, use_reloader=False)
