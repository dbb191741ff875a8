"""How fast retention deletes. Each batch is one transaction, and on SQLite it holds the one
writer for its whole length, so every API write waits behind it. Batches are therefore sized to
take about TARGET_S each (the size follows the time the last batch took, never more than doubling
at once), and after each one retention rests in proportion to it, so that it spends at most `duty`
of its time deleting: the rest of the time, the writer is the API's.
"""

from __future__ import annotations

TARGET_S = 0.05  # a batch holds the writer about this long
FIRST = 50  # executions (or rows) in the first batch, before any has been timed
LEAST = 10


class Pace:
    def __init__(self, most: int, duty: float, floor_s: float = 0.05) -> None:
        self.most = max(1, most)
        self.duty = min(max(duty, 0.01), 1.0)
        self.floor_s = max(floor_s, 0.0)
        self.size = min(self.most, FIRST)

    def after(self, took_s: float) -> float:
        """The batch just done took `took_s`: size the next one, and return how long to rest now."""
        wanted = int(self.size * TARGET_S / took_s) if took_s > 0 else self.size * 2
        self.size = max(1, min(self.most, self.size * 2, max(LEAST, wanted)))
        return max(self.floor_s, took_s * (1 - self.duty) / self.duty)
