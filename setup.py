"""The wheel's package list (the rest of the build is in pyproject.toml; docs/install.md).

Every package of the repository except the tests, found anew at each build so a new app is
shipped without editing this file, plus the templates/ and static/ folders mapped to
`loupe.templates` and `loupe.static` (data only; config/settings.py finds them there).
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(exclude=["tests", "tests.*"]), "loupe.templates", "loupe.static"],
    package_dir={"loupe.templates": "templates", "loupe.static": "static"},
)
