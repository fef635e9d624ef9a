"""A regular (non-editable) install gets every subpackage and data file the code needs.

The README's first command is ``pip install .``; setuptools installs only the packages
pyproject.toml lists, so a new subpackage left out of the list works in the editable test
install and fails for every user.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _config():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_subpackage_is_listed():
    listed = set(_config()["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "mmspec").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found <= listed, sorted(found - listed)


def test_data_files_of_the_code_are_package_data():
    data = _config()["package-data"]
    assert any(Path(f).match(pat) for pat in data["mmspec.engine"]
               for f in ("bfs.c",))
    assert (ROOT / "mmspec" / "engine" / "bfs.c").is_file()
