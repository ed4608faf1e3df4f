"""A served backend on the test database, seeded once per module, and a real Chromium.

Chromium is Debian's (``/usr/bin/chromium``; scripts/bootstrap installs it), driven by
Playwright for Python: Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from plurum_backend.store.database import Database
from tests import serving
from tests.conftest import truncate_all
from tests.web.seed import Api, Seeded, seed

CHROMIUM = os.environ.get("PLURUM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def site(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`plurum serve` on clean tables; yields the site's root URL (no trailing slash)."""
    truncate_all(database)
    server = serving.start(database, tmp_path_factory.mktemp("web"))
    try:
        yield server.base.removesuffix("/api/v1")
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api(site: str) -> Iterator[Api]:
    client = Api(site + "/api/v1")
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def seeded(api: Api) -> Seeded:
    return seed(api)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap dev (it installs chromium).")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


class Console:
    """Console errors and page errors seen by a page: a test asserts there were none."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    p = context.new_page()
    p.console = Console(p)  # type: ignore[attr-defined]
    p.set_default_timeout(10_000)
    yield p
    context.close()
