"""The sign-in page stays responsive while hostile PDF pages render (issue 17): gunicorn on a
free loopback port, four page images of render bombs requested at once, the sign-in page timed
meanwhile. Renders run in limited child processes (runs/pdf.py); a gthread worker waits for
them without holding the interpreter. Numbers are printed (pytest -s)."""

import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.services import free_port, stop, wait_for_http

pytestmark = pytest.mark.once  # its own SQLite database: runs in the SQLite pass only (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
SETUP = """
from django.contrib.auth.models import Group, User
from runs.services import run_file_store
from tests import hostile
from tests.factories import make_automation, make_run
user = User.objects.create_user('rita', password='review-pass')
user.groups.add(Group.objects.get_or_create(name='reviewer')[0])
run = make_run(make_automation())
keys = [run_file_store(run_id=run.pk, name=f'bomb-{n}.pdf', role='input', content_type='application/pdf',
                       content=hostile.nested_forms_pdf(depth=20 + n, fan=2)).pk for n in range(4)]
print(run.pk, *keys)
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, migrated_sqlite):
    folder = tmp_path_factory.mktemp("bombs-http")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LOUPE_CACHE", "DATABASE_"))},
           "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
           "LOUPE_VAR_DIR": str(folder), "DEBUG": "true", "LOUPE_PDF_RENDER_SECONDS": "4"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    migrated_sqlite(folder / "db.sqlite3")
    made = subprocess.run([*manage, "shell", "-c", SETUP], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    run_id, *keys = made.stdout.strip().splitlines()[-1].split()
    return env, run_id, keys


@pytest.mark.parametrize("workers", [["--workers", "2", "--threads", "4"], ["--workers", "4"]],
                         ids=["gthread-2x4", "sync-4"])
def test_sign_in_stays_responsive_while_bombs_render(site, workers):
    env, run_id, keys = site
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", *workers,
                               "--timeout", "120", "--bind", f"127.0.0.1:{port}"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(os.environ.get("BOMBS_HTTP_LOG", os.devnull), "ab"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/accounts/login/", process=server, timeout=120)
        with httpx.Client(base_url=base, timeout=60) as signed_in:
            form = signed_in.get("/accounts/login/")
            signed_in.post("/accounts/login/", data={"username": "rita", "password": "review-pass",
                                                     "csrfmiddlewaretoken": form.cookies["csrftoken"]},
                           headers={"Referer": f"{base}/accounts/login/"})
            cookies = dict(signed_in.cookies)
        bust = str(time.time_ns() % 1000 + 1)  # a width of its own: no page cached by the other run

        def page(key):
            started = time.perf_counter()
            response = httpx.get(f"{base}/runs/{run_id}/pdf-page/1/{key}", params={"w": bust}, cookies=cookies,
                                 timeout=60)
            return response.status_code, response.headers.get("X-Loupe-Not-Rendered", ""), \
                time.perf_counter() - started

        idle = []
        for _ in range(3):
            started = time.perf_counter()
            httpx.get(f"{base}/accounts/login/", timeout=60)
            idle.append(time.perf_counter() - started)
        sign_in_times, done = [], threading.Event()

        def sign_in_loop():
            while not done.is_set():
                started = time.perf_counter()
                assert httpx.get(f"{base}/accounts/login/", timeout=60).status_code == 200
                sign_in_times.append(time.perf_counter() - started)
                time.sleep(0.1)

        watcher = threading.Thread(target=sign_in_loop)
        watcher.start()
        with ThreadPoolExecutor(max_workers=4) as pool:
            pages = list(pool.map(page, keys))
        done.set()
        watcher.join()
    finally:
        stop(server)
    worst, median = max(sign_in_times), statistics.median(sign_in_times)
    print(f"\n{workers}: page images {[f'{s:.1f} s' for _, _, s in pages]}; sign-in page while they rendered: "
          f"median {median:.2f} s, worst {worst:.2f} s over {len(sign_in_times)} requests "
          f"(idle: median {statistics.median(idle):.2f} s)")
    assert all(status == 200 and "LOUPE_PDF_RENDER" in reason for status, reason, _ in pages), pages
    assert all(seconds < 10 for _, _, seconds in pages)
    if "--threads" in workers:
        assert worst < 5  # the goal is 1 s (printed); a machine shared by other work needs room
    else:
        assert worst < 15  # sync workers: the sign-in page waits for a free worker (the render limit)
