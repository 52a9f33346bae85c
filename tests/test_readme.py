"""The README's "Testing your app" snippet works as written, in a project of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Testing your app with the fake exchange"
REPOSITORY = "https://github.com/trio-binance/trio-binance-streams"  # a placeholder


def _blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.find("\n## ", len(SECTION))]
    return re.findall(rf"^```{language}\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)


def test_the_testing_snippet_passes_in_a_fresh_project(tmp_path: Path) -> None:
    [config] = _blocks("toml")
    [test] = _blocks("python")
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    (tmp_path / "test_my_bot.py").write_text(test, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_links_to_the_repository_name_files_that_exist() -> None:
    # The README links to files by absolute URL (it is also the package index's
    # page, where relative links are dead): each must be a file of this tree.
    text = README.read_text(encoding="utf-8")
    paths = re.findall(r"\(" + re.escape(REPOSITORY) + r"/blob/main/([^)#]+)", text)
    assert paths
    assert [p for p in paths if not (README.parent / p).is_file()] == []
