"""Full-text search survives huge executions (issue 13, item 5): one execution whose input holds
120,000 distinct words (849 KB) once pushed PostgreSQL's tsvector past its 1 MB limit, after which
the indexer failed every batch and every `freeText` search answered 500. What is indexed per
execution is capped, and a row that cannot be indexed is skipped, never retried forever."""

from __future__ import annotations

import string
from typing import Any

import httpx
import pytest

from podium.errors import StoreError
from podium.store.postgres import PgSession
from podium.store.search import INDEXED_PAYLOAD_CHARS
from podium.store.session import Session
from tests.api.helpers import chain, register_workflow, start
from tests.conftest import Clocked

W = "/api/workflow"


def distinct_words(count: int) -> list[str]:
    """`count` different lower-case words of letters only (one token each for both indexers)."""
    letters = string.ascii_lowercase
    words = []
    for i in range(count):
        word = ""
        for _ in range(4):
            i, digit = divmod(i, 26)
            word = letters[digit] + word
        words.append("w" + word + "q")
    return words


async def hits(client: httpx.AsyncClient, free_text: str) -> list[str]:
    response = await client.get(f"{W}/search", params={"freeText": free_text, "size": 100})
    assert response.status_code == 200, response.text
    return [r["workflowId"] for r in response.json()["results"]]


async def test_an_execution_of_120000_distinct_words_leaves_search_working(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a")
    words = distinct_words(120_000)
    text = " ".join(words)
    assert len(text) > 800_000
    huge = await start(client, "wf", {"text": text})
    small = await start(client, "wf", {"city": "Lisbon"})
    assert await hits(client, "lisbon") == [small]  # before the fix: 500 on PostgreSQL, for good
    assert await hits(client, words[0]) == [huge]  # the start of its text is indexed
    assert await hits(client, words[-1]) == []  # what is past the cap is not
    later = await start(client, "wf", {"city": "Porto"})
    assert await hits(client, "porto") == [later]
    assert sorted(await hits(client, "*")) == sorted([huge, small, later])


async def test_the_cap_keeps_input_and_output_searchable(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "echo", [{"name": "noop", "taskReferenceName": "noop", "type": "NOOP"}],
                            outputParameters={"answer": "${workflow.input.answer}"})
    filler = " ".join(distinct_words(40_000))
    assert len(filler) > INDEXED_PAYLOAD_CHARS
    wid = await start(client, "echo", {"text": filler, "answer": "zanzibar"})
    assert await hits(client, "zanzibar") == [wid]  # the output is indexed besides a huge input


async def test_a_row_that_cannot_be_indexed_is_skipped_not_retried(
        clocked: Clocked, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    client = clocked.client
    await chain(client, "wf", "a")
    attempts: list[int] = []
    for cls in (Session, PgSession):  # PostgreSQL's session writes the entries its own way
        original = vars(cls)["write_index"]

        async def refuse_poison(self: Session, entries: Any, _original: Any = original) -> None:
            if any("poison" in text for _, text in entries):
                attempts.append(len(entries))
                raise StoreError("database error: string is too long for tsvector")
            await _original(self, entries)

        monkeypatch.setattr(cls, "write_index", refuse_poison)
    before = await start(client, "wf", {"city": "Lisbon"})
    bad = await start(client, "wf", {"word": "poison"})
    after = await start(client, "wf", {"city": "Porto"})
    assert await hits(client, "lisbon") == [before]
    assert await hits(client, "porto") == [after]
    assert await hits(client, "poison") == []
    tried = len(attempts)
    assert tried >= 2 and attempts[-1] == 1  # the batch, then the row alone
    assert await hits(client, "lisbon") == [before]
    assert len(attempts) == tried  # skipped for good, not tried again on every search
    skipped = [r for r in caplog.records if getattr(r, "action", None) == "index_entry_skipped"]
    assert skipped and skipped[0].workflow_id == bad  # type: ignore[attr-defined]
