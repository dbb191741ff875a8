"""The browser tests' fixtures: headless Chromium (Debian's `chromium`, driven by Playwright's Python
API), a page in a fresh context, and an API client for the module's real `podium server`.

One Chromium per xdist worker serves all its browser tests (a launch costs about a second of CPU);
each test still gets a context of its own (its own cookies, storage, cache and pages), closed after
it. Playwright's objects belong to the event loop that made them, so the browser tests and their
async fixtures run in the session's loop (`pytest_collection_modifyitems` below).

Chromium missing: its tests are skipped, except under CI=true, where they fail (`.ci/run` installs it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import ServerProcess

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if item.path.parent == HERE and item.path.name.startswith("test_browser"):
            item.add_marker(session_loop, append=False)


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def api(module_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=module_server.url, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def watched(page: Page) -> AsyncIterator[Page]:
    """The page, failing the test on any script error it reports."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert errors == []
