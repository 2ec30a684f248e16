"""The task store on SQLite and PostgreSQL: documents and their events in one write,
one winner of two concurrent answers to an interrupted task, paging and visibility."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.agents._execution import TaskState
from bastion.domains.agents._store import InvalidPageToken, TaskRecord, TaskStore
from bastion.infra.db import create_engine
from bastion.kernel.analytics import Reach, Viewer
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import TenantId, TraceId, UserId
from bastion.kernel.ledger import MigrationLedger, PlannedMigration
from bastion.kernel.migration import migrations_from_package
from bastion.kernel.tiers import Tier


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    plan = [
        PlannedMigration("agents", m) for m in migrations_from_package("bastion.domains.agents")
    ]
    await MigrationLedger(engine).migrate(plan)
    try:
        yield engine
    finally:
        await engine.dispose()


def caller(user: str, tenant: str = "default") -> RequestContext:
    return RequestContext(
        trace_id=TraceId(f"trace-{user}"),
        tier=Tier.USER,
        auth_method=AuthMethod.JWT,
        user_id=UserId(user),
        tenant_id=TenantId(tenant),
    )


def task(task_id: str, owner: RequestContext, state: TaskState = TaskState.SUBMITTED) -> TaskRecord:
    return TaskRecord.new(
        owner,
        agent="helpdesk",
        task_id=task_id,
        context_id="ctx-1",
        document={"id": task_id, "contextId": "ctx-1", "status": {"state": state.value}},
    )


async def test_a_document_and_its_events_are_written_together(engine: AsyncEngine) -> None:
    store = TaskStore(engine)
    record = task("t-events", caller("usr_a"))
    await store.create(record)
    record.document["status"] = {"state": TaskState.WORKING.value}
    record.state = TaskState.WORKING
    await store.save(record, [{"statusUpdate": {"n": 1}}, {"statusUpdate": {"n": 2}}])
    await store.save(record, [{"statusUpdate": {"n": 3}}])
    stored = await store.get("t-events")
    assert stored is not None and (stored.state, stored.seq) == (TaskState.WORKING, 3)
    assert [seq for seq, _ in await store.events_after("t-events", 1)] == [2, 3]
    assert (await store.events_after("t-events", 0))[0][1] == {"statusUpdate": {"n": 1}}


async def test_one_of_two_answers_continues_an_interrupted_task(engine: AsyncEngine) -> None:
    store = TaskStore(engine)
    await store.create(task("t-claim", caller("usr_a"), TaskState.INPUT_REQUIRED))
    first, second = await store.get("t-claim"), await store.get("t-claim")
    assert first is not None and second is not None
    won = await asyncio.gather(store.claim(first), store.claim(second))
    assert sorted(won) == [False, True]
    stored = await store.get("t-claim")
    assert stored is not None and stored.state is TaskState.WORKING
    assert stored.lease_until is not None


async def test_pages_and_reach(engine: AsyncEngine) -> None:
    store = TaskStore(engine)
    alice, bob, other = caller("usr_alice"), caller("usr_bob"), caller("usr_o", "other")
    for index in range(5):
        await store.create(task(f"t-alice-{index}", alice))
    await store.create(task("t-bob", bob))
    await store.create(task("t-other", other))

    seen: list[str] = []
    token: str | None = None
    while True:
        page = await store.page(
            agent="helpdesk",
            viewer=Viewer.of(alice),
            principal=alice,
            page_size=2,
            page_token=token,
        )
        assert page.total_size == 5
        seen += [t.id for t in page.tasks]
        token = page.next_page_token or None
        if token is None:
            break
    assert sorted(seen) == [f"t-alice-{i}" for i in range(5)]

    tenant = await store.page(
        agent="helpdesk", viewer=Viewer(Reach.TENANT, tenant_id="default"), principal=alice
    )
    assert {t.id for t in tenant.tasks} == {*seen, "t-bob"}
    everything = await store.page(agent=None, viewer=Viewer.everything(), principal=alice)
    assert everything.total_size == 7
    with pytest.raises(InvalidPageToken):
        await store.page(agent=None, viewer=Viewer.everything(), principal=alice, page_token="x")


async def test_the_operator_filters_by_user_context_and_state(engine: AsyncEngine) -> None:
    store = TaskStore(engine)
    alice, bob = caller("usr_alice"), caller("usr_bob")
    await store.create(task("t-a1", alice))
    await store.create(task("t-a2", alice, TaskState.INPUT_REQUIRED))
    await store.create(task("t-b1", bob, TaskState.INPUT_REQUIRED))
    elsewhere = task("t-a3", alice)
    elsewhere.context_id = "ctx-2"
    await store.create(elsewhere)

    async def ids(
        user_id: str | None = None,
        context_id: str | None = None,
        state: TaskState | None = None,
    ) -> tuple[set[str], int]:
        page = await store.page(
            agent=None,
            viewer=Viewer.everything(),
            principal=None,
            user_id=user_id,
            context_id=context_id,
            state=state,
        )
        return {t.id for t in page.tasks}, page.total_size

    assert await ids(user_id="usr_alice") == ({"t-a1", "t-a2", "t-a3"}, 3)
    assert await ids(user_id="usr_alice", context_id="ctx-1") == ({"t-a1", "t-a2"}, 2)
    assert await ids(state=TaskState.INPUT_REQUIRED) == ({"t-a2", "t-b1"}, 2)
    assert await ids(user_id="usr_bob", state=TaskState.SUBMITTED) == (set(), 0)
