"""Which messages each BBS route and task event is on the protobuf wire: upstream's, but for Podium's two
routes of its own (`podium.proto`). The server reads and answers by this table, and so do its clients
(`podium agent --wire protobuf`, the tests)."""

from __future__ import annotations

from google.protobuf import empty_pb2
from google.protobuf.message import Message

from podium.model.diego import cells_pb2, events_pb2, podium_pb2
from podium.model.diego import task_requests_pb2 as R

#: Each route's (request, response) messages.
MESSAGES: dict[str, tuple[type[Message], type[Message]]] = {
    "/v1/tasks/list.r3": (R.TasksRequest, R.TasksResponse),
    "/v1/tasks/get_by_task_guid.r3": (R.TaskByGuidRequest, R.TaskResponse),
    "/v1/tasks/desire.r2": (R.DesireTaskRequest, R.TaskLifecycleResponse),
    "/v1/tasks/start": (R.StartTaskRequest, R.StartTaskResponse),
    "/v1/tasks/complete": (R.CompleteTaskRequest, R.TaskLifecycleResponse),
    "/v1/tasks/fail": (R.FailTaskRequest, R.TaskLifecycleResponse),
    "/v1/tasks/reject": (R.RejectTaskRequest, R.TaskLifecycleResponse),
    "/v1/tasks/cancel": (R.TaskGuidRequest, R.TaskLifecycleResponse),
    "/v1/tasks/resolving": (R.TaskGuidRequest, R.TaskLifecycleResponse),
    "/v1/tasks/delete": (R.TaskGuidRequest, R.TaskLifecycleResponse),
    "/v1/tasks/offers": (podium_pb2.OffersRequest, R.TasksResponse),
    "/v1/cells/heartbeat": (podium_pb2.CellHeartbeatRequest, R.TaskLifecycleResponse),
    "/v1/cells/list.r1": (empty_pb2.Empty, cells_pb2.CellsResponse),  # upstream reads no body
}

#: The event stream's messages, by SSE event name (upstream's `models.EventTypeTask*`).
EVENTS: dict[str, type[Message]] = {
    "task_created": events_pb2.TaskCreatedEvent,
    "task_changed": events_pb2.TaskChangedEvent,
    "task_removed": events_pb2.TaskRemovedEvent,
}
