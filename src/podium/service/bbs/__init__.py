"""The Diego BBS dialect's use cases: standalone tasks claimed by cells, their convergence,
completion callbacks and event stream. A BBS task is an execution of the engine (one task whose
type is the domain); each operation changes the execution and the task's BBS row together."""

from __future__ import annotations

import httpx

from podium.model.bbs import WORKFLOW_TYPE
from podium.service.bbs.callbacks import Callbacks
from podium.service.bbs.cells import CELLS_TIMER, Cells
from podium.service.bbs.changes import CALLBACK_TIMER
from podium.service.bbs.convergence import CONVERGE_TIMER, Convergence, Report
from podium.service.bbs.projection import Projection
from podium.service.bbs.tasks import BbsConfig, BbsTasks
from podium.service.executions import Executions
from podium.service.secrets import Secrets

__all__ = ["Bbs", "BbsConfig", "Report"]


class Bbs:
    def __init__(self, x: Executions, config: BbsConfig, client: httpx.AsyncClient,
                 secrets: Secrets | None = None) -> None:
        self.x = x
        self.config = config
        self.cells = Cells(x, config.cell_ttl_ms)
        self.tasks = BbsTasks(x, self.cells, config, secrets)
        self.callbacks = Callbacks(x, self.tasks, client, config.callback_workers)
        self.convergence = Convergence(x, self.tasks, config)
        x.observers[WORKFLOW_TYPE] = Projection(x)
        x.timer_handlers[CONVERGE_TIMER] = self.convergence.on_converge_timer
        x.timer_handlers[CELLS_TIMER] = self.convergence.on_cells_timer
        x.timer_handlers[CALLBACK_TIMER] = self.callbacks.on_timer

    async def converge(self) -> Report:
        """One convergence pass, now."""
        return await self.convergence.run()

    async def open(self) -> None:
        await self.convergence.arm()

    async def close(self) -> None:
        await self.convergence.close()
        await self.callbacks.close()
