"""What the package says about itself is true: version, changelog, metadata."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import trio_binance

ROOT = Path(__file__).resolve().parent.parent


def test_the_changelog_starts_with_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    top = re.search(r"^## (.+)$", changelog, flags=re.MULTILINE)
    assert top is not None
    assert top[1].split()[0] == trio_binance.__version__


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in 3.11")
def test_the_classifiers_name_every_python_the_project_supports() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lowest = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert lowest is not None
    versions = {
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert versions == {f"3.{minor}" for minor in range(int(lowest[1]), 14)}
    assert "License :: " not in " ".join(project["classifiers"])  # PEP 639: license = "MIT"
    assert project["license"] == "MIT"
