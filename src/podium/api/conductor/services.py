"""The services a request handler may call, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from podium.service.events import EventHandlers
from podium.service.executions import Executions
from podium.service.metadata import Metadata
from podium.service.queues import Queues
from podium.service.tasks import Tasks
from podium.service.workflows import Workflows


@dataclass(frozen=True)
class Services:
    metadata: Metadata
    executions: Executions
    workflows: Workflows
    tasks: Tasks
    events: EventHandlers
    queues: Queues


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
