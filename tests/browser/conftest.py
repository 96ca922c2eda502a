"""The browser fixtures (tests.browser.support) for every test in this folder."""

from tests.browser.support import browser, orm_connection_closed, page  # noqa: F401
