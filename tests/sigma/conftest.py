"""Fixtures for the SIGMA tests (shared spec/processes.md, scenarios e.4; wire contract
docs/processes.md): the real app in process on each backend, on a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import Clocked
from tests.sigma.sigma import Sigma


@pytest.fixture
async def sigma(clocked: Clocked) -> AsyncIterator[Sigma]:
    found = Sigma(clocked.client, clocked.clock)
    await found.workflows()
    yield found
