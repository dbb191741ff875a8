"""The browser tests' fixtures: headless Chromium (Debian's `chromium`, driven by Playwright's Python
API), a page in a fresh context, and an API client for the module's real `podium server`.

Chromium missing: its tests are skipped, except under CI=true, where they fail (`.ci/run` installs it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import ServerProcess

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


@pytest.fixture
async def api(module_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=module_server.url, timeout=30) as client:
        yield client


@pytest.fixture
async def watched(page: Page) -> AsyncIterator[Page]:
    """The page, failing the test on any script error it reports."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert errors == []
