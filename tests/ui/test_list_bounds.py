"""The executions list's actions on a whole search, against the real app (both backends), with their
bounds made small: "all matching" pages through the search and refuses a search over its bound;
the CSV export pages through the search and stops at its bound."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from podium.ui import executions, export
from tests.api.helpers import status
from tests.ui.test_pages import orders


@pytest.fixture
async def client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The app, as a browser that has opened a UI page: its actions carry the page's CSRF token."""
    await client.get("/ui/executions")
    client.headers["X-Podium-CSRF"] = client.cookies["podium_csrf"]
    return client


async def test_all_matching_acts_on_every_page_of_the_search(client: httpx.AsyncClient,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executions, "ALL_MATCHING_PAGE", 2)  # three executions: two pages of ids
    ids = await orders(client)
    page = await client.post("/ui/executions/bulk", data={"action": "pause", "all": "matching", "ids": ids[0],
                                                           "q": "workflowType=orders&size=1"})
    assert page.status_code == 200 and "pause: done for 3 executions" in page.text
    assert [await status(client, i) for i in ids] == ["PAUSED", "PAUSED", "PAUSED", "RUNNING"]


async def test_all_matching_refuses_a_search_over_its_bound(client: httpx.AsyncClient,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executions, "ALL_MATCHING_MAX", 3)
    ids = await orders(client)  # four executions match no filter
    page = await client.post("/ui/executions/bulk", data={"action": "terminate", "all": "matching", "q": ""})
    assert page.status_code == 200
    assert "The search matches 4 executions; an action on all matching acts on at most 3" in page.text
    assert [await status(client, i) for i in ids] == ["RUNNING"] * 4  # nothing was touched


async def test_the_csv_pages_through_the_search_up_to_its_bound(client: httpx.AsyncClient,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "EXPORT_PAGE", 2)
    ids = await orders(client)
    everything = await client.get("/ui/executions.csv", params={"sort": "startTime:ASC"})
    assert everything.status_code == 200 and everything.headers["x-total-count"] == "4"
    rows = list(csv.DictReader(io.StringIO(everything.text)))
    assert [r["workflowId"] for r in rows] == ids  # four rows over two pages, in the list's order
    assert rows[0]["correlationId"] == "c-0" and rows[3]["workflowType"] == "refunds"
    monkeypatch.setattr(export, "EXPORT_MAX", 3)
    capped = list(csv.DictReader(io.StringIO((await client.get("/ui/executions.csv")).text)))
    assert len(capped) == 3
    bad = await client.get("/ui/executions.csv", params={"since": "yesterday"})
    assert bad.status_code == 400 and "From must be a date and time" in bad.text
