"""Every way the process search can run (podium.store.tnco: a filter drives, the walk newest first,
a time filter drives) answers the same as the spec's semantics applied to the whole list."""

from __future__ import annotations

import re
from typing import Any

import pytest

from podium.store import tnco as store
from tests.tnco.lifecycle import Lifecycle, ms

QUERIES: list[dict[str, str]] = [
    {"assemblyId": "A1"}, {"assemblyName": "Edge-1"}, {"assemblyName": "Edge*"}, {"assemblyName": "*dge*"},
    {"assemblyType": "assembly::t_a::1.0"}, {"processStatuses": "Completed"},
    {"processStatuses": "Completed,Failed"}, {"processStatuses": "In Progress,Pending"},
    {"intentTypes": "HealAssembly,CreateAssembly"},
    {"startDateTime": "2018-08-08T15:10:00+01:00", "endDateTime": "2018-08-08T16:30:00+01:00"},
    {"endDateTime": "2018-08-08T16:30:00+01:00", "processStatuses": "Completed"},
    {"assemblyName": "*dge*", "processStatuses": "Completed,Failed", "intentTypes": "HealAssembly"},
    {"assemblyName": "Core*", "assemblyType": "assembly::t_a::1.0", "processStatuses": "Completed"},
    {"assemblyId": "A1", "intentTypes": "HealAssembly", "startDateTime": "2018-08-08T15:00:00+01:00"},
]


def matches(p: dict[str, Any], q: dict[str, str]) -> bool:
    name = q.get("assemblyName")
    pattern = re.escape(name).replace(r"\*", ".*") if name else None
    return all([
        "assemblyId" not in q or p.get("assemblyId") == q["assemblyId"],
        pattern is None or re.fullmatch(pattern, p.get("assemblyName", "")) is not None,
        "assemblyType" not in q or p.get("assemblyType") == q["assemblyType"],
        "processStatuses" not in q or p["status"] in q["processStatuses"].split(","),
        "intentTypes" not in q or p.get("intentType") in q["intentTypes"].split(","),
        "startDateTime" not in q or ("startTime" in p and ms(p["startTime"]) >= ms(q["startDateTime"])),
        "endDateTime" not in q or ("endTime" in p and ms(p["endTime"]) <= ms(q["endDateTime"])),
    ])


async def seed(tnco: Lifecycle) -> None:
    assemblies = [(f"A{i}", f"{'Edge' if i % 2 else 'Core'}-{i}", f"assembly::t_{'ab'[i % 2]}::1.0")
                  for i in range(1, 5)]
    for assembly_id, name, kind in assemblies:
        await tnco.run("createAssembly", assemblyId=assembly_id, assemblyName=name, descriptorName=kind,
                       minutes=(1, 2))
    for i in range(12):
        assembly_id = assemblies[i % len(assemblies)][0]
        intent = ("healAssembly", "upgradeAssembly", "scaleOutAssembly")[i % 3]
        outcome = ("COMPLETED", "FAILED", "COMPLETED", "CANCELLED")[i % 4]
        await tnco.run(intent, assemblyId=assembly_id, outcome=outcome, minutes=(i % 5 + 1, 3))
    running = await tnco.intent("healAssembly", assemblyId="A1")
    tnco.clock.advance(60_000)
    await tnco.begin(running)
    tnco.clock.advance(60_000)
    await tnco.intent("healAssembly", assemblyId="A3")  # Pending


@pytest.mark.parametrize("drive_max", [0, 10**9], ids=["broad", "selective"])
async def test_every_plan_answers_as_the_spec_reads(tnco: Lifecycle, monkeypatch: pytest.MonkeyPatch,
                                                    drive_max: int) -> None:
    await seed(tnco)
    everything = await tnco.search()
    assert len(everything) == 18
    monkeypatch.setattr(store, "DRIVE_MAX", drive_max)
    for q in QUERIES:
        expected = [p["id"] for p in everything if matches(p, q)]
        assert expected, q  # each query matches something
        assert await tnco.ids(**q) == expected, q
        assert await tnco.ids(**q, limit=2) == expected[:2], q
