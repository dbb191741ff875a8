"""Scenarios 27-30 of spec/bbs.md b.6 (behaviour b.5): the completion callback, POSTed to a real HTTP server
on loopback that answers scripted statuses."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.bbs.conftest import SETTLE, Bbs, Callbacks, EventStream, Received, eventually


async def run_to_completion(bbs: Bbs, guid: str, url: str, **definition: str) -> dict[str, object]:
    """Desire `guid` with this callback URL and run it on c1; returns the task as it was Running."""
    running = await bbs.given("Running", guid, cell="c1", completion_callback_url=url, **definition)
    await bbs.complete(guid, "c1", failed=False, reason="", result="r")
    return running


def assert_callback(post: Received, running: dict[str, object], **expected: object) -> None:
    assert post.method == "POST"
    assert post.content_type.split(";")[0].strip() == "application/json", post.content_type
    body = {"task_guid": running["task_guid"], "failed": False, "failure_reason": "", "result": "r",
            "created_at": running["created_at"], **expected}
    assert post.json() == body


async def test_s27_callback_success(bbs: Bbs, events: EventStream, callbacks: Callbacks) -> None:
    since = await events.mark()
    running = await run_to_completion(bbs, "t1", callbacks.url("t1", 200), annotation="a")
    await bbs.wait_gone("t1")
    (post,) = callbacks.posts("t1")
    assert_callback(post, running, annotation="a")
    history = await events.of("t1", 5, since)  # created, started, completed, resolving, removed
    assert [e.states for e in history] == [(None, "Pending"), ("Pending", "Running"), ("Running", "Completed"),
                                           ("Completed", "Resolving"), ("Resolving", None)]
    await asyncio.sleep(SETTLE)
    assert len(callbacks.posts("t1")) == 1


async def test_s27_callback_omits_an_empty_annotation(bbs: Bbs, callbacks: Callbacks) -> None:
    running = await run_to_completion(bbs, "t1", callbacks.url("t1", 200))
    await bbs.wait_gone("t1")
    (post,) = callbacks.posts("t1")
    assert_callback(post, running)
    assert "annotation" not in post.json()


@pytest.mark.parametrize("status", [404, 500])
async def test_s28_callback_client_or_server_error_still_resolves(bbs: Bbs, callbacks: Callbacks,
                                                                  status: int) -> None:
    running = await run_to_completion(bbs, "t1", callbacks.url("t1", status))
    await bbs.wait_gone("t1")
    await asyncio.sleep(SETTLE)
    (post,) = callbacks.posts("t1")
    assert_callback(post, running)


@pytest.mark.parametrize("status", [503, 504])
async def test_s29_callback_retried_on_unavailable(bbs: Bbs, callbacks: Callbacks, status: int) -> None:
    running = await run_to_completion(bbs, "t1", callbacks.url("t1", status, status, 200))
    await bbs.wait_gone("t1")
    await asyncio.sleep(SETTLE)
    posts = callbacks.posts("t1")
    assert len(posts) == 3
    for post in posts:
        assert_callback(post, running)


@pytest.mark.parametrize("status", [503, 504])
async def test_s29_callback_unavailable_three_times_leaves_it_resolving(bbs: Bbs, callbacks: Callbacks,
                                                                        status: int) -> None:
    await run_to_completion(bbs, "t1", callbacks.url("t1", status))
    await callbacks.wait_posts("t1", 3)
    await asyncio.sleep(SETTLE)
    assert len(callbacks.posts("t1")) == 3
    assert (await bbs.task("t1"))["state"] == "Resolving"


async def test_s30_no_callback_url_stays_completed(bbs: Bbs, events: EventStream) -> None:
    await bbs.given("Running", "t1", cell="c1")
    since = await events.mark()
    await bbs.complete("t1", "c1", result="r")
    completed = await bbs.task("t1")
    await asyncio.sleep(SETTLE)
    assert [e.states for e in await events.quiet(since, "t1")] == [("Running", "Completed")]
    assert await bbs.task("t1") == completed
    # a convergence kick (b.4 step 6) finds no URL either
    bbs.advance(31)
    await bbs.converge()
    await asyncio.sleep(SETTLE)
    assert await bbs.task("t1") == completed


@pytest.mark.parametrize("bbs", [{"http_denied_hosts": ["127.0.0.0/8"]}], indirect=True)
async def test_a_callback_url_the_outbound_policy_refuses_is_not_called(
        bbs: Bbs, callbacks: Callbacks, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "podium")
    await run_to_completion(bbs, "t1", callbacks.url("t1", 200))

    def refusals() -> list[logging.LogRecord]:
        return [r for r in caplog.records if getattr(r, "action", None) == "bbs_callback_refused"]

    [record] = await eventually(refusals, "the refused callback in the log")
    assert record.task_guid == "t1"  # type: ignore[attr-defined]
    assert record.error == ("outbound call to 127.0.0.1 refused: "  # type: ignore[attr-defined]
                            "127.0.0.1 matches http_denied_hosts entry 127.0.0.0/8")
    await asyncio.sleep(SETTLE)
    assert callbacks.posts("t1") == []
    assert (await bbs.task("t1"))["state"] == "Resolving"  # as an unreachable URL: convergence tries again
