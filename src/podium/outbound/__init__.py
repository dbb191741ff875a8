"""Outbound calls: the one policy every call the server makes obeys (``policy``, pure, light enough
for the settings to validate their entries with), and the shared HTTP client that enforces it on the
address it connects to (``transport``)."""

from __future__ import annotations

from podium.outbound.policy import Mode, OutboundPolicy, Refusal

__all__ = ["Mode", "OutboundPolicy", "Refusal"]
