"""The built documentation site, opened page by page in a real headless Chromium.

Build the site first, then run this file (``.ci/run`` does both)::

    python -m sphinx -W --keep-going -n -b html docs docs/_build/html
    python -m pytest -q docs/test_site.py

The site is served over HTTP on 127.0.0.1 and crawled from its home page.  A page
fails the test when it is missing (a link to it answers 404), when one of its
assets (style sheet, script, font, image) fails to load, when the browser logs a
console error or the page raises, or when an internal link points at an anchor the
target page does not have.  Chromium is the operating system's
(``/usr/bin/chromium`` by default, or ``$CHROMIUM``), driven by Playwright; no
browser is downloaded.  With ``$DOCS_SCREENSHOTS`` set to a directory, the home
page and a reference page are saved there as PNG.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright import sync_api

SITE = Path(os.environ.get("DOCS_SITE", Path(__file__).parent / "_build" / "html"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The flags that work on a machine without network beyond package registries: no
# background requests, which would be refused and logged.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Pages the site must have: each guide the issue asked for, and the reference.
REQUIRED = {
    "index.html",
    "tutorial.html",
    "howto/index.html",
    "howto/testing.html",
    "howto/order-books.html",
    "howto/user-data.html",
    "howto/threaded.html",
    "howto/proxies.html",
    "howto/recording.html",
    "howto/many-streams.html",
    "reliability.html",
    "logging.html",
    "from-python-binance.html",
    "recording-format.html",
    "changelog.html",
    "reference/index.html",
    "reference/manager.html",
    "reference/handles.html",
    "reference/order-books.html",
    "reference/threaded.html",
    "reference/configuration.html",
    "reference/exceptions.html",
    "reference/testing.html",
    "reference/recording.html",
}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run the docs build first (see this file)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Crawl:
    pages: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def crawl(base_url: str) -> Crawl:
    result = Crawl()
    anchors: dict[str, set[str]] = {}
    wanted: list[tuple[str, str, str]] = []  # (from page, to page, fragment)
    shots = os.environ.get("DOCS_SCREENSHOTS")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        current = [""]

        def problem(what: str) -> None:
            result.problems.append(f"{current[0]}: {what}")

        def on_console(message: sync_api.ConsoleMessage) -> None:
            if message.type == "error":
                problem(f"console error: {message.text}")

        def on_response(response: sync_api.Response) -> None:
            if response.status >= 400:
                problem(f"HTTP {response.status} for {response.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: problem(f"page error: {error}"))
        page.on("requestfailed", lambda request: problem(f"failed to load {request.url}"))
        page.on("response", on_response)
        queue = ["index.html"]
        while queue:
            path = queue.pop()
            if path in result.pages:
                continue
            result.pages.add(path)
            current[0] = path
            page.goto(base_url + path, wait_until="load")
            anchors[path] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
            hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            for href in hrefs:
                url = urllib.parse.urlsplit(href)
                if not href.startswith(base_url):
                    continue  # another site: not ours to check offline
                target = url.path.removeprefix(urllib.parse.urlsplit(base_url).path) or "index.html"
                if target.endswith("/"):
                    target += "index.html"
                if target.endswith(".html"):
                    queue.append(target)
                    if url.fragment:
                        wanted.append((path, target, urllib.parse.unquote(url.fragment)))
            if shots and path in ("index.html", "reference/manager.html"):
                Path(shots).mkdir(parents=True, exist_ok=True)
                name = "docs-home.png" if path == "index.html" else "docs-reference.png"
                page.screenshot(path=str(Path(shots) / name))
        browser.close()
    for source, target, fragment in wanted:
        if target in anchors and fragment not in anchors[target]:
            result.problems.append(f"{source}: link to {target}#{fragment}: no such anchor")
    return result


def test_every_required_page_is_reachable_from_the_home_page(crawl: Crawl) -> None:
    assert REQUIRED - crawl.pages == set()


def test_no_page_has_a_broken_link_or_asset_or_a_console_error(crawl: Crawl) -> None:
    assert crawl.problems == [], "\n".join(crawl.problems)


def test_the_reference_documents_every_public_name(crawl: Crawl) -> None:
    import trio_binance
    import trio_binance.recording
    import trio_binance.testing

    text = "".join(
        (SITE / "reference" / name).read_text(encoding="utf-8")
        for name in os.listdir(SITE / "reference")
        if name.endswith(".html")
    )
    missing = [
        f"{module.__name__}.{name}"
        for module in (trio_binance, trio_binance.testing, trio_binance.recording)
        for name in module.__all__
        if name != "__version__" and f'id="{module.__name__}.{name}"' not in text
    ]
    assert missing == []
