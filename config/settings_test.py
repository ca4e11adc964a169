"""Test settings: the production module with speed knobs only."""

import os
import tempfile
from pathlib import Path

# A key for the tests (and the servers they start as subprocesses, which inherit it).
os.environ.setdefault("SECRET_KEY", "loupe-tests-only-not-a-secret-" + "x" * 30)

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="loupe-test-media-"))
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Webhooks: loopback receivers in tests, fast retries.
LOUPE_WEBHOOKS_ALLOW_PRIVATE = True
LOUPE_WEBHOOKS_BACKOFF_BASE_SECONDS = 0.05
LOUPE_WEBHOOKS_BACKOFF_MAX_SECONDS = 0.5
LOUPE_WEBHOOKS_TIMEOUT_SECONDS = 3.0
# The benchmark commands are tested too (installed elsewhere only with LOUPE_BENCH_TOOLS=1).
if "bench" not in INSTALLED_APPS:  # noqa: F405
    INSTALLED_APPS.append("bench")  # noqa: F405
