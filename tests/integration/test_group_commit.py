"""``group_commit.grouped``: writes handed over together share one transaction, and each
keeps its own outcome: one that fails leaves nothing behind and takes no other down, one
whose request went away before its turn is not written."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tierslieu import db
from tierslieu.group_commit import Undo, grouped

TABLE = "group_commit_probe"


async def _with_probe(settings: Any, scenario: Any) -> Any:
    engine = db.create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
            await connection.execute(text(f"CREATE TABLE {TABLE} (n INTEGER PRIMARY KEY)"))
        try:
            return await scenario(engine)
        finally:
            async with engine.begin() as connection:
                await connection.execute(text(f"DROP TABLE {TABLE}"))
    finally:
        await engine.dispose()


def _insert(*numbers: int) -> Any:
    async def work(connection: Any) -> int:
        for n in numbers:
            await connection.execute(text(f"INSERT INTO {TABLE} (n) VALUES (:n)"), {"n": n})
        # What this transaction holds so far: the works before it, and itself.
        return (await connection.execute(text(f"SELECT count(*) FROM {TABLE}"))).scalar_one()

    return work


async def _stored(engine: Any) -> list[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text(f"SELECT n FROM {TABLE} ORDER BY n"))
        return [n for (n,) in rows]


def test_works_handed_over_together_each_get_their_answer_once_committed(settings):
    async def scenario(engine: Any) -> tuple[list[int], list[int]]:
        answers = await asyncio.gather(*(grouped(engine, _insert(n)) for n in range(1, 21)))
        return answers, await _stored(engine)

    answers, stored = asyncio.run(_with_probe(settings, scenario))
    assert stored == list(range(1, 21))
    # As if one after the other, in the order they came: each saw those before it.
    assert answers == list(range(1, 21))


def test_a_work_that_fails_leaves_nothing_and_the_others_are_written(settings):
    async def scenario(engine: Any) -> tuple[list[Any], list[int]]:
        answers = await asyncio.gather(
            grouped(engine, _insert(1)),
            grouped(engine, _insert(2)),
            grouped(engine, _insert(100, 1)),  # its first row, then one already taken
            grouped(engine, _insert(3)),
            return_exceptions=True,
        )
        return answers, await _stored(engine)

    answers, stored = asyncio.run(_with_probe(settings, scenario))
    assert stored == [1, 2, 3]  # not 100: the failed work's first row was undone too
    assert answers[:2] == [1, 2] and answers[3] == 3
    assert isinstance(answers[2], IntegrityError)


def test_a_work_whose_request_went_away_before_its_turn_is_not_written(settings):
    async def scenario(engine: Any) -> list[int]:
        first = asyncio.ensure_future(grouped(engine, _insert(1)))
        gone = asyncio.ensure_future(grouped(engine, _insert(2)))
        last = asyncio.ensure_future(grouped(engine, _insert(3)))
        await asyncio.sleep(0)  # each handed its work over
        gone.cancel()
        assert await first == 1 and await last == 2
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await _stored(engine)

    assert asyncio.run(_with_probe(settings, scenario)) == [1, 3]


def test_a_work_that_undoes_itself_answers_and_leaves_nothing(settings):
    """A meal order whose portions ran out after its order row was written: that row goes,
    the others' rows stay, and its owner gets its answer (not an error)."""

    async def refused(connection: Any) -> bool:
        await _insert(50)(connection)
        raise Undo(False)

    async def scenario(engine: Any) -> tuple[list[Any], list[int]]:
        answers = await asyncio.gather(
            grouped(engine, _insert(1)), grouped(engine, refused), grouped(engine, _insert(2))
        )
        return answers, await _stored(engine)

    answers, stored = asyncio.run(_with_probe(settings, scenario))
    assert answers == [1, False, 2]
    assert stored == [1, 2]
