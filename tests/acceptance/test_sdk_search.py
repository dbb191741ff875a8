"""Acceptance: workflow search through conductor-python (`OrkesWorkflowClient.search`, which sends
`GET /workflow/search?queryId=&start=&size=&freeText=&query=...`)."""

from __future__ import annotations

import uuid

import pytest
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.http.rest import ApiException


def _ids(result) -> set[str]:
    return {s.workflow_id for s in result.results}


def test_search_by_type_status_and_free_text(sdk):
    task = sdk.name("sdk_search_step")
    sdk.task_def(task)
    kind_a, kind_b = sdk.name("sdk_search_a"), sdk.name("sdk_search_b")
    for kind in (kind_a, kind_b):
        sdk.workflow_def(kind, [(task, "step_ref", {"n": "${workflow.input.n}"})])

    corr = f"corr-{uuid.uuid4().hex[:10]}"
    done_a = [sdk.workflows.start_workflow(StartWorkflowRequest(name=kind_a, input={"n": n},
                                                                correlation_id=f"{corr}-{n}"))
              for n in range(2)]
    for wid in done_a:
        sdk.complete(task, wid, {"ok": True})
        sdk.wait_status(wid, "COMPLETED")
    running_a = sdk.workflows.start_workflow(StartWorkflowRequest(name=kind_a, input={"n": 9},
                                                                   correlation_id=f"{corr}-9"))
    running_b = sdk.workflows.start_workflow(StartWorkflowRequest(name=kind_b, input={"n": 5},
                                                                   correlation_id=corr))

    by_type_and_status = sdk.workflows.search(query=f"workflowType IN ({kind_a}) AND status IN (COMPLETED)")
    assert _ids(by_type_and_status) == set(done_a)
    for summary in by_type_and_status.results:
        assert (summary.workflow_type, summary.version, summary.status) == (kind_a, 1, "COMPLETED")
        assert summary.correlation_id.startswith(corr)

    search = sdk.workflows.search
    assert _ids(search(query=f"workflowType IN ({kind_a}) AND status IN (RUNNING)")) == {running_a}
    assert _ids(search(query=f"workflowType IN ({kind_a})")) == {*done_a, running_a}
    both = f"workflowType IN ({kind_a},{kind_b}) AND status IN (RUNNING)"
    assert _ids(search(query=both)) == {running_a, running_b}
    assert _ids(sdk.workflows.search(query=f"workflowType = {kind_b}")) == {running_b}
    # status alone searches across every workflow type of the server
    assert {running_a, running_b} <= _ids(sdk.workflows.search(query="status IN (RUNNING)", size=1000))
    assert not _ids(sdk.workflows.search(query=f"workflowType IN ({kind_b}) AND status IN (COMPLETED)"))

    # freeText: a correlation id finds its workflow; combined with a query it is ANDed.
    assert _ids(sdk.workflows.search(free_text=f"{corr}-9")) == {running_a}
    assert _ids(search(free_text=f"{corr}-1", query=f"workflowType IN ({kind_a})")) == {done_a[1]}
    assert not _ids(sdk.workflows.search(free_text=f"{corr}-1", query="status IN (RUNNING)"))
    assert not _ids(sdk.workflows.search(free_text=f"no-such-{uuid.uuid4().hex}"))

    # paging: start/size are honoured
    page = sdk.workflows.search(start=0, size=2, query=f"workflowType IN ({kind_a})")
    rest = sdk.workflows.search(start=2, size=2, query=f"workflowType IN ({kind_a})")
    assert len(page.results) == 2 and len(rest.results) == 1
    assert _ids(page) | _ids(rest) == {*done_a, running_a}


def test_search_with_an_unknown_field_is_a_400_naming_it(sdk):
    with pytest.raises(ApiException) as info:
        sdk.workflows.search(query="noSuchField = 1")
    assert info.value.status == 400
    assert "noSuchField" in info.value.message
