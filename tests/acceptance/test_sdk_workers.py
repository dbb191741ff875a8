"""Acceptance: conductor-python workers (function, decorated and class workers, task domains) in real
worker processes against a real server."""

from __future__ import annotations

import time

import pytest
import sdk_workers
from conductor.client.automator.task_handler import get_registered_workers
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.worker.worker import Worker

pytestmark = pytest.mark.slow


def test_function_and_class_workers_complete_a_multi_step_workflow(sdk):
    add_task, double_task = sdk.name("sdk_add"), sdk.name("sdk_double")
    greet_task = "sdk_greet"  # fixed by the @worker_task decorator in sdk_workers
    for name in (add_task, double_task, greet_task):
        sdk.task_def(name)
    wf_name = sdk.name("sdk_three_steps")
    sdk.workflow_def(wf_name, [
        (add_task, "add_ref", {"a": "${workflow.input.a}", "b": "${workflow.input.b}"}),
        (double_task, "double_ref", {"value": "${add_ref.output.sum}"}),
        (greet_task, "greet_ref", {"name": "${workflow.input.who}", "total": "${double_ref.output.doubled}"}),
    ], output={"sum": "${add_ref.output.sum}", "doubled": "${double_ref.output.doubled}",
               "greeting": "${greet_ref.output.greeting}"})

    [greeter] = [w for w in get_registered_workers() if w.get_task_definition_name() == greet_task]
    workers = [
        Worker(task_definition_name=add_task, execute_function=sdk_workers.add, poll_interval=20,
               worker_id="function-worker"),
        sdk_workers.Doubler(double_task),
        greeter,
    ]
    with sdk.running(*workers):
        ids = [sdk.workflows.start_workflow(
                   StartWorkflowRequest(name=wf_name, input={"a": a, "b": 4, "who": who}))
               for a, who in ((3, "Ada"), (10, "Bob"))]
        done = [sdk.wait_status(wid, "COMPLETED") for wid in ids]

    for wf, (a, who) in zip(done, ((3, "Ada"), (10, "Bob")), strict=True):
        total = (a + 4) * 2
        assert wf.output == {"sum": a + 4, "doubled": total, "greeting": f"Hello {who}, the total is {total}"}
        by_ref = {t.reference_task_name: t for t in wf.tasks}
        assert [t.reference_task_name for t in wf.tasks] == ["add_ref", "double_ref", "greet_ref"]
        assert all(t.status == "COMPLETED" and t.retry_count == 0 for t in wf.tasks)
        assert by_ref["add_ref"].input_data == {"a": a, "b": 4}
        assert by_ref["double_ref"].input_data == {"value": a + 4}
        assert by_ref["greet_ref"].input_data == {"name": who, "total": total}
        assert by_ref["add_ref"].worker_id == "function-worker"
        assert by_ref["double_ref"].worker_id == "class-worker"
        assert by_ref["double_ref"].output_data == {"doubled": total}


def test_task_domain_is_served_only_by_a_worker_polling_that_domain(sdk):
    task = sdk.name("sdk_dom")
    sdk.task_def(task)
    wf_name = sdk.name("sdk_domain_wf")
    sdk.workflow_def(wf_name, [(task, "dom_ref", {"tag": "${workflow.input.tag}"})],
                     output={"servedBy": "${dom_ref.output.servedBy}"})
    plain = Worker(task_definition_name=task, execute_function=sdk_workers.served_without_domain,
                   poll_interval=20, worker_id="plain-worker")
    in_domain = Worker(task_definition_name=task, execute_function=sdk_workers.served_in_domain,
                       poll_interval=20, worker_id="domain-worker", domain="mydomain")

    with sdk.running(plain):
        domained = sdk.workflows.start_workflow(StartWorkflowRequest(
            name=wf_name, input={"tag": "d"}, task_to_domain={task: "mydomain"}))
        undomained = sdk.workflows.start_workflow(StartWorkflowRequest(name=wf_name, input={"tag": "p"}))
        assert sdk.wait_status(undomained, "COMPLETED").output == {"servedBy": "plain-worker"}
        time.sleep(1.0)  # the plain worker keeps polling; it must never see the domain's task
        waiting = sdk.workflow(domained)
        assert waiting.status == "RUNNING"
        [pending] = waiting.tasks
        assert (pending.status, pending.poll_count, pending.domain) == ("SCHEDULED", 0, "mydomain")

    with sdk.running(in_domain):
        wf = sdk.wait_status(domained, "COMPLETED")
    [served] = wf.tasks
    assert wf.output == {"servedBy": "domain-worker"}
    assert wf.task_to_domain == {task: "mydomain"}
    assert (served.worker_id, served.domain, served.poll_count) == ("domain-worker", "mydomain", 1)
    assert served.task_id == pending.task_id
