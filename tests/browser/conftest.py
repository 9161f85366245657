"""Browser fixtures: one Chromium per session, the app served live, phone and desktop pages.

Every test in this folder gets the `browser` marker and runs on SQLite only.

    def test_something(live_server, page):
        page.goto(live_server.url + "/")
        check_accessibility(page)          # from tests.browser.helpers
        screenshot(page, "something-phone")

Staff sign in with `tests.helpers.sign_in_browser(page, live_server.url, email)`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from tests.browser.helpers import DESKTOP, PHONE, new_page
from tests.helpers import make_demo_app, skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items: mark only those in this folder.
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def database_url(sqlite_url: str) -> str:
    """Browser tests run on SQLite only; the engines are covered by the other tests."""
    return sqlite_url


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session."""
    if not CHROMIUM.exists():
        skip_or_fail("Chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


@dataclass
class LiveServer:
    url: str
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread


@pytest.fixture
def live_server(make_app) -> Iterator[LiveServer]:
    """The app with real CSRF and the demo clinic, served on 127.0.0.1 from a thread."""
    app = make_demo_app(make_app, WTF_CSRF_ENABLED=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: the OS picks a free one
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
        name="live-server",
        daemon=True,
    )
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, server=server,
                         thread=thread)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page(browser):
    """A page in a fresh context at phone width (390x844)."""
    context, page = new_page(browser, PHONE)
    yield page
    context.close()


@pytest.fixture
def desktop_page(browser):
    """A page in a fresh context at desktop width (1280x900)."""
    context, page = new_page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def no_js_page(browser):
    """A page in a fresh context at phone width with JavaScript switched off."""
    context, page = new_page(browser, PHONE, java_script_enabled=False)
    yield page
    context.close()
