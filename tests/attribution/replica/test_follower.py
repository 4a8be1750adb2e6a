"""The replica follows the outcomes change feed over HTTP: resumes from its position without
duplicates, is bitemporal, records outages and keeps serving while outcomes is down, and
runs as a background task that stops cleanly."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from attribution.models import ReplicaEpic, ReplicaKpi, ReplicaMeasurement
from attribution.replica import store
from tests.attribution.helpers import WORKED_RULES, Linked, ok
from tests.attribution.runs.test_worked_example import seed_worked_example
from tests.conftest import KEYS


async def _count(linked: Linked, model: type) -> int:
    async with linked.attribution_app.state.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_resume_from_position_without_duplicates(linked: Linked) -> None:
    await linked.kpi("k1", baseline="1", target="2")
    await linked.epic("E-1")
    first = await linked.sync()
    assert first["applied"] == first["after"] == first["head"]
    assert first["lag"] == 0 and first["last_success_at"] and first["last_error"] is None

    await linked.epic("E-2")
    await linked.measure("k1", {"2026-01": "1.5"})
    second = await linked.sync()
    assert second["after"] > first["after"]
    assert second["applied"] == second["after"] - first["after"]
    assert (await linked.sync())["applied"] == 0  # nothing new: nothing applied twice

    assert await _count(linked, ReplicaEpic) == 2
    assert await _count(linked, ReplicaKpi) == 2  # created + baseline_agreed versions
    assert await _count(linked, ReplicaMeasurement) == 1

    # A page delivered again (a retry after a crash between fetch and commit) is skipped.
    feed = ok(await linked.outcomes.get("/v1/changes", params={"after": 0}))
    async with linked.attribution_app.state.db.session(write=True) as session:
        result = await store.apply_page(session, feed["items"], feed["head"])
    assert (result.applied, result.skipped) == (0, len(feed["items"]))
    assert await _count(linked, ReplicaEpic) == 2

    state = ok(await linked.attribution.get("/v1/sync"))
    assert state["after"] == state["head"] == feed["head"]


async def test_small_pages_and_bitemporal_versions(linked: Linked) -> None:
    linked.attribution_app.state.follower.page_size = 2
    await linked.kpi("k1", baseline="1", target="5")
    await linked.measure("k1", {"2026-01": "1.5", "2026-02": "2"})
    await linked.measure("k1", {"2026-01": "1.7"})  # a correction
    synced = await linked.sync()
    assert synced["pages"] >= 3
    async with linked.attribution_app.state.db.session() as session:
        rows = (
            (
                await session.execute(
                    select(ReplicaMeasurement)
                    .where(ReplicaMeasurement.period == "2026-01")
                    .order_by(ReplicaMeasurement.seq)
                )
            )
            .scalars()
            .all()
        )
        assert [(r.value, r.version) for r in rows] == [("1.5", 1), ("1.7", 2)]
        assert rows[0].superseded_at is not None and rows[1].superseded_at is None
        before = rows[1].recorded_at
        known_then = await store.measurements_at(session, rows[0].recorded_at, {"k1"})
        known_now = await store.measurements_at(session, before, {"k1"})
    assert sorted((r.period, r.value) for r in known_then) == [
        ("2026-01", "1.5"),
        ("2026-02", "2"),
    ]
    assert sorted((r.period, r.value) for r in known_now) == [
        ("2026-01", "1.7"),
        ("2026-02", "2"),
    ]


async def test_outcomes_down_records_error_and_service_keeps_serving(linked: Linked) -> None:
    await seed_worked_example(linked)
    await linked.sync()
    ruleset, _ = await linked.agreed_ruleset(WORKED_RULES)

    # outcomes goes away: nothing listens on port 9
    follower = linked.attribution_app.state.follower
    follower.transport = None
    follower.outcomes_url = "http://127.0.0.1:9"
    problem = ok(await linked.attribution.post("/v1/sync"), 502)
    assert problem["type"] == "/problems/outcomes-unavailable"
    state = ok(await linked.attribution.get("/v1/sync"))
    assert "cannot reach outcomes" in state["last_error"]
    assert state["last_error_at"] and state["last_success_at"]

    run = await linked.run(ruleset, "2026-04", "2026-06")  # computed from the replica
    assert run["totals"]["benefit"]["amount"] == "1280000.00"
    assert [w["code"] for w in run["warnings"]] == ["replica_behind"]
    pay = ok(await linked.attribution.get("/v1/benefits", params={"epic": "PAY-12"}))["items"]
    assert pay[0]["realized"]["amount"] == "768000.00"
    assert ok(await linked.attribution.post(f"/v1/runs/{run['id']}/verify"))["ok"] is True

    # outcomes is back: the follower catches up and clears the error
    follower.transport = httpx.ASGITransport(app=linked.outcomes_app)
    await linked.epic("NEW-1")
    back = await linked.sync()
    assert back["last_error"] is None and back["lag"] == 0 and back["applied"] == 1


async def test_wrong_key_is_an_error_not_a_crash(linked: Linked) -> None:
    linked.attribution_app.state.follower.api_key = "not-a-key"
    problem = ok(await linked.attribution.post("/v1/sync"), 502)
    assert "401" in problem["detail"]


async def test_sync_needs_write_scope(linked: Linked) -> None:
    async with linked.as_key("read") as reader:
        assert (await reader.post("/v1/sync")).status_code == 403
        assert (await reader.get("/v1/sync")).status_code == 200


async def test_background_follower_polls_and_stops(outcomes_settings, attribution_settings) -> None:  # type: ignore[no-untyped-def]
    from attribution.app import create_app as create_attribution
    from ledgerkit.testing import app_client
    from outcomes.app import create_app as create_outcomes

    outcomes_app = create_outcomes(outcomes_settings)
    settings = attribution_settings.model_copy(
        update={"outcomes_api_key": KEYS["read"], "sync_interval": 0.05}
    )
    app = create_attribution(settings, outcomes_transport=httpx.ASGITransport(app=outcomes_app))
    async with (
        app_client(outcomes_app, key=KEYS["admin"]) as outcomes,
        app_client(app, key=KEYS["admin"]) as attribution,
    ):
        ok(await outcomes.post("/v1/epics", json={"key": "BG-1", "title": "bg"}), 201)
        for _ in range(400):  # polls; no timing is asserted
            state = ok(await attribution.get("/v1/sync"))
            if state["after"] >= 1:
                break
            await asyncio.sleep(0.05)
        assert state["after"] >= 1 and state["lag"] == 0
        task = app.state.follower._task
        assert task is not None and not task.done()
    assert task.done()  # the lifespan stopped it
    assert app.state.follower._task is None


@pytest.mark.parametrize("status", [500, 503])
async def test_outcomes_errors_become_last_error(linked: Linked, status: int) -> None:
    async def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"title": "boom"})

    linked.attribution_app.state.follower.transport = httpx.MockTransport(failing)
    problem = ok(await linked.attribution.post("/v1/sync"), 502)
    assert str(status) in problem["detail"]
    assert str(status) in ok(await linked.attribution.get("/v1/sync"))["last_error"]
