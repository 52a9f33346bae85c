"""Sphinx configuration of the trio_binance documentation site.

Build it (after the README's set-up) with::

    pip install -e ".[docs]" && python -m sphinx -W --keep-going -n -b html docs docs/_build/html

Pages are Markdown (MyST) except the API reference, which autodoc builds from the
docstrings (Google style, napoleon).  ``-n`` checks every cross-reference: one to
a ``trio_binance`` name that does not resolve is an error; names of other
libraries (trio, httpx, the standard library) are not checked, because their
inventories would have to be fetched from the network.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import trio_binance  # noqa: E402
import trio_binance.recording  # noqa: E402
import trio_binance.testing  # noqa: E402

project = "trio_binance"
author = "the trio_binance developers"
copyright = "the trio_binance developers"
release = trio_binance.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# migrating.md is shown through from-python-binance.md (see _migration_guide below).
exclude_patterns = ["_build", "migrating.md", "**/.ipynb_checkpoints"]

# Markdown: heading anchors for links such as reliability.md#gap-notices.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# autodoc + napoleon: Google-style docstrings, members in source order, type hints
# in the signature (our docstrings don't repeat them).
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = [("Resource handling", "notes_style"), ("Error handling", "notes_style")]
default_role = "py:obj"
# Long signatures (open_binance_streams) one parameter a line.
python_maximum_signature_line_length = 88

# Every cross-reference must resolve (-n), except to other libraries' names, whose
# inventories (intersphinx) would need the network.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!trio_binance\b).*"),
    # Type variables in signatures (StreamHandle[Trade | N_co]): explained in prose on
    # the pages of their classes, they have no page of their own.
    (r"py:.*", r"trio_binance\.(?:\w+\.)*(?:N_co|NumberT|T_co|P_co)"),
]

html_theme = "furo"
html_title = f"trio_binance {release}"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_show_sourcelink = False
html_theme_options = {
    "source_repository": "https://github.com/trio-binance/trio-binance-streams/",
    "source_branch": "main",
    "source_directory": "docs/",
}


def _migration_guide(app: Sphinx, docname: str, source: list[str]) -> None:
    """Show docs/migrating.md, when the repository has it, as the migration page.

    ``from-python-binance.md`` holds a short fallback (the README's mapping table);
    once ``docs/migrating.md`` exists, its text replaces the fallback, under the
    same URL, so links to the page never change.
    """
    if docname != "from-python-binance":
        return
    guide = HERE / "migrating.md"
    app.env.note_dependency(str(guide))  # rebuilt when it appears or changes
    if guide.exists():
        source[0] = guide.read_text(encoding="utf-8")


# The public packages: a name in their __all__ is documented under the package's
# name, even where an annotation names the private module that defines it.
PUBLIC = (trio_binance, trio_binance.testing, trio_binance.recording)
_PRIVATE_PATH = re.compile(r"\btrio_binance(?:\.testing)?(?:\._\w+)+\.(\w+)")


def _public_name(name: str) -> str | None:
    """``trio_binance._endpoints.Product`` -> ``trio_binance.Product``; None if private."""
    match = _PRIVATE_PATH.fullmatch(name)
    if match is None:
        return None
    for package in PUBLIC:
        obj = getattr(package, match[1], None)
        if match[1] in getattr(package, "__all__", ()) and obj is not None:
            return f"{package.__name__}.{match[1]}"
    return None


def _resolve_public(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.reference | None:
    """Resolve a reference to a public name written with its private module path."""
    if node.get("refdomain") != "py":
        return None
    public = _public_name(node["reftarget"])
    if public is None:
        return None
    domain = env.get_domain("py")
    node["reftarget"] = public
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], public, node, contnode
    )


def _hide_private_constructor(
    app: Sphinx,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str, str | None] | None:
    """Drop the signature of a class that users get from the library, never build.

    Such a class's constructor takes the library's internals (an engine, a
    connection registry...): a signature naming a type that is not public says so.
    """
    if what != "class" or not signature:
        return None
    for match in _PRIVATE_PATH.finditer(signature):
        if _public_name(match[0]) is None:
            return "", return_annotation
    return None


def _public_bases(app: Sphinx, name: str, obj: object, options: Any, bases: list[type]) -> None:
    """Show a class's bases, leaving out private ones (a mixin of the library's)."""

    def shown(base: type) -> bool:
        if not base.__module__.startswith("trio_binance") or "._" not in base.__module__ + ".":
            return True  # another library's class, or one of ours already public
        return _public_name(f"{base.__module__}.{base.__qualname__}") is not None

    bases[:] = [base for base in bases if shown(base)]


def setup(app: Sphinx) -> None:
    app.connect("source-read", _migration_guide)
    app.connect("missing-reference", _resolve_public)
    app.connect("autodoc-process-signature", _hide_private_constructor)
    app.connect("autodoc-process-bases", _public_bases)
