"""Background loops, each small and single-purpose, supervised by the server's lifespan.

A loop never ends on an error: it logs it (`podium.logs.failed`) and tries again on its next round.
"""

from __future__ import annotations

from podium.logs import failed

__all__ = ["failed"]
