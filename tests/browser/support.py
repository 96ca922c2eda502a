"""What every browser test shares: Debian's chromium driven by sync Playwright at 1400 x 1000, the
folder screenshots go to, and closing the ORM connection the test body opened.

Fixtures are imported by name from here by the browser tests (tests/browser/ and tests/voice/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, Page, sync_playwright

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"  # git ignores it; a reviewer looks here
WIDTH = 1400
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
PASSWORD = "correct-horse-battery"


@pytest.fixture
def browser(chromium_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Sync Playwright runs an event loop in this thread; Django's ORM calls in the test are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def orm_connection_closed(page: Page) -> Iterator[None]:
    """Close the database connection the test body opened, once the body is done.

    Django keeps connections per async context, and sync Playwright runs the test body in its own
    context: the connection opened there is not the one pytest-django closes, and left open on
    PostgreSQL it blocks dropping the test database. Depending on `page` makes this close first.
    """
    yield
    connections.close_all()
