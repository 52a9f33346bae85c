"""The documentation keeps up with the code (no Sphinx needed: see docs/test_site.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import trio_binance

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(trio_binance.__file__).resolve().parent  # the one imported
LOGGING_PAGE = ROOT / "docs" / "logging.md"
_PLACEHOLDER = re.compile(r"%(?:\.\d+)?[sdrf]")
_LEVELS = {"warning", "error", "exception", "critical", "log"}


def _logged_formats() -> list[tuple[str, str]]:
    """(where, message) of every warning/error the client logs, placeholders as '…'."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        if relative.startswith(("trio_binance/testing/", "trio_binance/_cli/")):
            continue  # the fake's log is for tests; the CLI prints its own errors
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _LEVELS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "logger"
            ):
                continue
            args = node.args[1:] if node.func.attr == "log" else node.args
            assert args and isinstance(args[0], ast.Constant), f"{relative}:{node.lineno}"
            found.append((f"{relative}:{node.lineno}", _PLACEHOLDER.sub("…", args[0].value)))
    return found


def test_every_warning_and_error_the_library_logs_is_on_the_logging_page() -> None:
    page = LOGGING_PAGE.read_text(encoding="utf-8")
    formats = _logged_formats()
    assert len(formats) > 20
    missing = [
        f"{where}: {message}"
        for where, message in formats
        if message.strip("…: ") and f"`{message}`" not in page
    ]
    assert missing == []


def test_every_public_exception_is_on_the_logging_page() -> None:
    page = LOGGING_PAGE.read_text(encoding="utf-8")
    exceptions = [
        name
        for name in trio_binance.__all__
        if isinstance(getattr(trio_binance, name), type)
        and issubclass(getattr(trio_binance, name), BaseException)
    ]
    assert len(exceptions) >= 8
    assert [name for name in exceptions if f"trio_binance.{name}" not in page] == []


def test_python_examples_in_the_docs_and_readme_compile() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    pages = [page for page in pages if "_build" not in page.parts]
    blocks = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
            line = text[: match.start()].count("\n") + 2
            compile(
                match[1], f"{page.relative_to(ROOT)}:{line}", "exec",
                flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True,
            )  # fmt: skip
            blocks += 1
    assert blocks > 20
