"""The 16 TNC-O scenarios of spec d.3, against the real API on both backends (fake clock)."""

from __future__ import annotations

from tests.tnco.conftest import DAY_START
from tests.tnco.lifecycle import Lifecycle, ms

BASIC = {"assemblyName": "BasicTestAssembly", "descriptorName": "assembly::t_bta::1.0"}


async def test_s01_get_by_id_has_every_field(tnco: Lifecycle) -> None:
    created = await tnco.run("createAssembly", **BASIC, properties={"resourceManager": "brent"})
    healed = await tnco.run("healAssembly", assemblyName="BasicTestAssembly", minutes=(2, 3))
    p1 = await tnco.process(healed)
    created_id = (await tnco.process(created))["assemblyId"]
    assert p1["id"] == healed and p1["status"] == "Completed"
    assert p1["intentType"] == "HealAssembly" and p1["lifecycleAction"] == "Heal"
    assert p1["assemblyName"] == "BasicTestAssembly" and p1["assemblyId"] == created_id  # the assembly's own id
    assert p1["assemblyType"] == "assembly::t_bta::1.0"
    assert p1["intent"] == {"assemblyName": "BasicTestAssembly"}
    assert ms(p1["startTime"]) == DAY_START + 4 * 60_000 and ms(p1["endTime"]) == DAY_START + 7 * 60_000
    for key in ("assemblyProperties", "context", "previousInstance", "desiredInstance", "executionPlan"):
        assert key in p1
    assert (await tnco.process(created))["assemblyProperties"] == {"resourceManager": "brent"}
    assert "statusReason" not in p1


async def test_s02_unknown_id_is_404_in_tnco_shape(tnco: Lifecycle) -> None:
    body = await tnco.error(404, "/api/processes/does-not-exist")
    assert "does-not-exist" in body["localizedMessage"]


async def test_s03_a_process_not_started_has_no_time_keys(tnco: Lifecycle) -> None:
    pending = await tnco.intent("createAssembly", **BASIC)
    body = await tnco.process(pending)
    assert body["status"] == "Pending"
    assert "startTime" not in body and "endTime" not in body


async def test_s04_a_running_process_has_a_start_but_no_end(tnco: Lifecycle) -> None:
    running = await tnco.intent("createAssembly", **BASIC)
    tnco.clock.advance(5_000)
    await tnco.begin(running)
    body = await tnco.process(running)
    assert body["status"] == "In Progress"
    assert ms(body["startTime"]) == DAY_START + 5_000 and "endTime" not in body


async def test_s05_no_filters_lists_every_process(tnco: Lifecycle) -> None:
    assert await tnco.search() == []
    done = await tnco.run("createAssembly", **BASIC)
    pending = await tnco.intent("deleteAssembly", assemblyName="BasicTestAssembly")
    assert set(await tnco.ids()) == {done, pending}


async def test_s06_filter_by_assembly_id(tnco: Lifecycle) -> None:
    a1 = await tnco.run("createAssembly", assemblyName="A1", descriptorName="assembly::a::1.0", assemblyId="A1")
    heal = await tnco.run("healAssembly", assemblyId="A1")
    await tnco.run("createAssembly", assemblyName="A2", descriptorName="assembly::a::1.0", assemblyId="A2")
    assert set(await tnco.ids(assemblyId="A1")) == {a1, heal}
    assert (await tnco.process(heal))["assemblyName"] == "A1"  # known from the assembly's id
    assert await tnco.ids(assemblyId="A9") == []


async def test_s07_wildcard_names_are_case_sensitive(tnco: Lifecycle) -> None:
    ids = {name: await tnco.run("createAssembly", assemblyName=name, descriptorName="assembly::t::1.0")
           for name in ("BasicTestAssembly", "basicOther", "MyBasic")}
    assert await tnco.ids(assemblyName="Basic*") == [ids["BasicTestAssembly"]]
    assert set(await tnco.ids(assemblyName="*Basic*")) == {ids["BasicTestAssembly"], ids["MyBasic"]}
    assert await tnco.ids(assemblyName="BasicTestAssembly") == [ids["BasicTestAssembly"]]
    assert await tnco.ids(assemblyName="Basic") == []  # no `*`: exact
    assert set(await tnco.ids(assemblyName="*")) == set(ids.values())


async def test_s07_wildcard_text_is_literal_apart_from_the_star(tnco: Lifecycle) -> None:
    odd = await tnco.run("createAssembly", assemblyName="a_b%c[d]?e", descriptorName="assembly::t::1.0")
    await tnco.run("createAssembly", assemblyName="aXbYcdZe", descriptorName="assembly::t::1.0")
    assert await tnco.ids(assemblyName="a_b%c[d]?*") == [odd]
    assert await tnco.ids(assemblyName="a?b*") == []


async def test_s08_assembly_type_is_exact(tnco: Lifecycle) -> None:
    bta = await tnco.run("createAssembly", assemblyName="x", descriptorName="assembly::t_bta::1.0")
    await tnco.run("createAssembly", assemblyName="y", descriptorName="assembly::t_bta::2.0")
    assert await tnco.ids(assemblyType="assembly::t_bta::1.0") == [bta]
    assert await tnco.ids(assemblyType="assembly::t_bta::*") == []


async def test_s09_status_lists(tnco: Lifecycle) -> None:
    completed = await tnco.run("createAssembly", **BASIC)
    failed = await tnco.run("healAssembly", assemblyName="BasicTestAssembly", outcome="FAILED")
    cancelled = await tnco.run("upgradeAssembly", assemblyName="BasicTestAssembly", outcome="CANCELLED")
    running = await tnco.intent("scaleOutAssembly", assemblyName="BasicTestAssembly")
    await tnco.begin(running)
    pending = await tnco.intent("scaleInAssembly", assemblyName="BasicTestAssembly")
    assert set(await tnco.ids(processStatuses="Completed,Failed")) == {completed, failed}
    assert await tnco.ids(processStatuses="In Progress") == [running]
    assert await tnco.ids(processStatuses=" Pending ") == [pending]
    assert await tnco.ids(processStatuses="Cancelled") == [cancelled]
    failure = await tnco.process(failed)
    assert failure["status"] == "Failed" and "the driver gave up" in failure["statusReason"]
    assert "endTime" in failure
    stopped = await tnco.process(cancelled)
    assert stopped["statusReason"] == "cancelled by operator" and "endTime" in stopped


async def test_s10_intent_type_lists(tnco: Lifecycle) -> None:
    create = await tnco.run("createAssembly", **BASIC)
    delete = await tnco.run("deleteAssembly", assemblyName="BasicTestAssembly")
    await tnco.run("healAssembly", assemblyName="BasicTestAssembly")
    await tnco.run("changeAssemblyState", assemblyName="BasicTestAssembly", intendedState="Inactive")
    assert set(await tnco.ids(intentTypes="CreateAssembly,DeleteAssembly")) == {create, delete}


async def test_s11_time_window(tnco: Lifecycle) -> None:
    # the clock starts at 15:00 (+01:00); each process is taken `a` minutes after the last one ended
    early = await tnco.run("createAssembly", **BASIC, minutes=(30, 20))  # 15:30-15:50
    inside = await tnco.run("healAssembly", assemblyName="BasicTestAssembly", minutes=(20, 30))  # 16:10-16:40
    late_end = await tnco.run("healAssembly", assemblyName="BasicTestAssembly", minutes=(5, 20))  # 16:45-17:05
    unended = await tnco.intent("upgradeAssembly", assemblyName="BasicTestAssembly")
    tnco.clock.advance(60_000)
    await tnco.begin(unended)  # 17:06, not ended
    window = {"startDateTime": "2018-08-08T16:00:00+01:00", "endDateTime": "2018-08-08T17:00:00+01:00"}
    assert await tnco.ids(**window) == [inside]
    assert set(await tnco.ids(startDateTime=window["startDateTime"])) == {inside, late_end, unended}
    assert set(await tnco.ids(endDateTime=window["endDateTime"])) == {early, inside}
    assert await tnco.ids(startDateTime="2018-08-08T16:15:00+01:00", endDateTime="2018-08-08T16:45:00+01:00") == []
    assert await tnco.ids(startDateTime="2018-08-08T14:10:00Z", endDateTime="2018-08-08T16:00:00+01:00") == [early]
    assert await tnco.ids(startDateTime="2018-08-08T16:10:00+01:00", endDateTime="2018-08-08T15:40:00Z") == [inside]


async def test_s12_limit_returns_the_newest(tnco: Lifecycle) -> None:
    runs = [await tnco.run("createAssembly", assemblyName=f"n{i}", descriptorName="assembly::t::1.0")
            for i in range(5)]
    assert await tnco.ids(limit=2) == [runs[4], runs[3]]
    assert await tnco.ids() == runs[::-1]


async def test_s12_unstarted_processes_come_after_started_ones_newest_first(tnco: Lifecycle) -> None:
    started = await tnco.run("createAssembly", **BASIC)
    first = await tnco.intent("healAssembly", assemblyName="BasicTestAssembly")
    tnco.clock.advance(1000)
    second = await tnco.intent("upgradeAssembly", assemblyName="BasicTestAssembly")
    assert await tnco.ids() == [started, second, first]


async def test_s13_filters_combine_with_and(tnco: Lifecycle) -> None:
    match = await tnco.run("createAssembly", assemblyName="BasicOne", descriptorName="assembly::t::1.0")
    await tnco.run("createAssembly", assemblyName="BasicTwo", descriptorName="assembly::t::1.0", outcome="FAILED")
    await tnco.run("healAssembly", assemblyName="BasicOne")
    await tnco.run("createAssembly", assemblyName="OtherOne", descriptorName="assembly::t::1.0")
    found = await tnco.ids(assemblyName="Basic*", processStatuses="Completed", intentTypes="CreateAssembly")
    assert found == [match]


async def test_s14_an_intent_creates_a_process(tnco: Lifecycle) -> None:
    response = await tnco.client.post("/api/intent/createAssembly", json={**BASIC, "intendedState": "Active"})
    assert response.status_code == 201, response.text
    process_id = response.headers["Location"].removeprefix("/api/processes/")
    body = await tnco.process(process_id)
    assert body["intentType"] == "CreateAssembly" and body["assemblyName"] == "BasicTestAssembly"
    assert body["lifecycleAction"] == "Create" and body["intent"]["intendedState"] == "Active"
    assert body["assemblyId"]  # a new assembly gets its id


async def test_s15_shallow_omits_the_execution_plan(tnco: Lifecycle) -> None:
    process_id = await tnco.intent("createAssembly", **BASIC)
    await tnco.begin(process_id)
    deep = await tnco.process(process_id)
    assert [(t["name"], t["status"]) for t in deep["executionPlan"]] == [
        ("createassembly_step", "IN_PROGRESS"), ("createassembly_step_finish", "NOT_STARTED")]
    assert "executionPlan" not in await tnco.process(process_id, shallow="true")
    assert "executionPlan" in await tnco.process(process_id, shallow="false")


async def test_s16_bad_parameters_are_400_in_tnco_shape(tnco: Lifecycle) -> None:
    await tnco.run("createAssembly", **BASIC)
    for params in ({"limit": "abc"}, {"limit": "0"}, {"limit": "-3"}, {"limit": "1.5"},
                   {"startDateTime": "notadate"}, {"endDateTime": "2018-13-40T99:00:00"},
                   {"processStatuses": "Done"}, {"processStatuses": "completed"}, {"intentTypes": "MakeAssembly"}):
        body = await tnco.error(400, "/api/processes", **params)
        assert body["details"]["parameter"] == next(iter(params))
    await tnco.error(400, "/api/processes/x", shallow="maybe")
    assert len(await tnco.search()) == 1  # nothing changed

