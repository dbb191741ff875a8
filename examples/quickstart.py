"""Podium quickstart: a two-step workflow run by conductor-python workers.

    pip install conductor-python==2.0.0
    python examples/quickstart.py            # against http://localhost:8080/api

Set CONDUCTOR_SERVER_URL to point elsewhere.
"""

# No `from __future__ import annotations`: conductor-python binds inputs by real annotations.

import os

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.orkes_clients import OrkesClients
from conductor.client.worker.worker import Worker
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.task.simple_task import SimpleTask


def greet(name: str) -> dict[str, str]:
    return {"greeting": f"Hello, {name}!"}


def shout(text: str) -> dict[str, str]:
    return {"loud": text.upper()}


def main() -> None:
    config = Configuration(server_api_url=os.environ.get("CONDUCTOR_SERVER_URL", "http://localhost:8080/api"))
    clients = OrkesClients(configuration=config)
    executor = clients.get_workflow_executor()

    workflow = ConductorWorkflow(executor=executor, name="quickstart", version=1)
    greet_task = SimpleTask(task_def_name="greet", task_reference_name="greet_ref")
    greet_task.input(key="name", value="${workflow.input.name}")
    shout_task = SimpleTask(task_def_name="shout", task_reference_name="shout_ref")
    shout_task.input(key="text", value="${greet_ref.output.greeting}")
    workflow.add(greet_task)
    workflow.add(shout_task)
    workflow.output_parameters({"result": "${shout_ref.output.loud}"})
    workflow.register(overwrite=True)

    workers = [Worker(task_definition_name="greet", execute_function=greet, poll_interval=10),
               Worker(task_definition_name="shout", execute_function=shout, poll_interval=10)]
    with TaskHandler(workers=workers, configuration=config, scan_for_annotated_workers=False) as handler:
        handler.start_processes()
        run = executor.execute(name="quickstart", version=1, workflow_input={"name": "Podium"},
                               wait_for_seconds=10)
        print(f"workflow {run.workflow_id}: {run.status} {run.output}")
        handler.stop_processes()
    if run.status != "COMPLETED":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
