"""The `loupe` command (loupe/cli.py) and the wheel's layout (setup.py, pyproject.toml).
bin/wheel-check builds, installs and serves the real wheel; these check the parts quickly."""

import io
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from setuptools import find_packages

from config.env import installed_data_dir
from loupe import cli

ROOT = Path(__file__).resolve().parent.parent.parent


def test_serve_runs_gunicorn_on_the_wsgi_app_with_the_bind_and_extra_arguments():
    options = cli.serve_parser().parse_args(["0.0.0.0:9000", "--workers", "3"])
    argv = cli.gunicorn_argv(options, ["--max-requests", "1000"])
    assert argv[:4] == [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
    assert argv[argv.index("--bind") + 1] == "0.0.0.0:9000" and argv[argv.index("--workers") + 1] == "3"
    assert argv[-2:] == ["--max-requests", "1000"]


@pytest.mark.parametrize(("addrport", "bind"), [("8080", "127.0.0.1:8080"), (":8081", "127.0.0.1:8081"),
                                                ("[::1]:8082", "[::1]:8082")])
def test_serve_reads_port_or_addr_port(addrport, bind):
    assert cli._bind(addrport) == bind


def test_serve_refuses_a_bad_address_naming_it():
    with pytest.raises(SystemExit, match="'host:http' is not ADDR:PORT"):
        cli._bind("host:http")


@pytest.mark.django_db
def test_other_commands_pass_through_to_django():
    out = io.StringIO()
    with redirect_stdout(out):
        cli.main(["showmigrations", "runs"])
    assert "[X] 0001_initial" in out.getvalue()


def test_a_settings_error_is_one_line_not_a_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LOUPE_VAR_DIR": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "loupe", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("loupe: SECRET_KEY is not set.") and "Traceback" not in done.stderr


def test_installed_data_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert installed_data_dir() == str(tmp_path / "loupe")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert installed_data_dir() == str(tmp_path / ".local" / "share" / "loupe")


def test_the_wheel_ships_every_package_but_the_tests_and_maps_templates_and_static():
    setup = (ROOT / "setup.py").read_text()
    assert 'find_packages(exclude=["tests", "tests.*"])' in setup
    assert '"loupe.templates": "templates", "loupe.static": "static"' in setup
    found = set(find_packages(where=str(ROOT), exclude=["tests", "tests.*"]))
    on_disk = {str(p.parent.relative_to(ROOT)).replace("/", ".") for p in ROOT.glob("*/**/__init__.py")
               if p.parts[len(ROOT.parts)] not in {"tests", ".venv", ".venv-sdk020"}}
    assert on_disk <= found and {"config", "loupe", "runs.migrations"} <= found
