"""The plugin toolkit (``kernel.sql``, the parameter types, problem helpers) on the engine under test."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pytest
import scrm
from scrm import Kernel


async def test_a_statement_runs_the_text_of_the_engine(kernel: Kernel) -> None:
    which = scrm.Statement(
        postgres="SELECT 'postgres' AS engine, {n} + 1 AS n", sqlite="SELECT 'sqlite' AS engine, {n} + 1 AS n"
    )
    row = await kernel.sql.one(which, n=41)
    assert row is not None
    assert (row["engine"], row["n"]) == (kernel.db.dialect.name, 42)
    assert kernel.sql.postgres is (kernel.db.dialect.name == "postgres")


async def test_named_placeholders_bind_each_name_everywhere(kernel: Kernel) -> None:
    rows = await kernel.sql.run(
        "SELECT CAST({a} AS bigint) + CAST({b} AS bigint) + CAST({a} AS bigint) AS total", a=1, b=10
    )
    assert rows[0]["total"] == 12
    assert await kernel.sql.one("SELECT 1 AS x WHERE 1 = CAST({no} AS bigint)", no=0) is None


async def test_portable_fragments(kernel: Kernel) -> None:
    sql = kernel.sql
    condition, arg = sql.any_of("x.n", [2, 3])
    rows = await sql.fetch(
        f"SELECT x.n AS n, {sql.least('x.n', 'CAST({} AS bigint)')} AS low FROM {sql.rows([('n', 'bigint')])} WHERE {condition} "
        "ORDER BY x.n",
        2,
        sql.encode([{"n": 1}, {"n": 2}, {"n": 3}]),
        arg,
    )
    assert [(r["n"], r["low"]) for r in rows] == [(2, 2), (3, 2)]
    greatest = await sql.fetch(f"SELECT {sql.greatest('CAST({} AS bigint)', 'CAST({} AS bigint)')} AS g", 4, 9)
    assert greatest[0]["g"] == 9
    assert sql.for_update == (" FOR UPDATE" if sql.postgres else "")
    assert sql.for_share == (" FOR SHARE" if sql.postgres else "")


async def test_rows_carry_times_both_engines_read(kernel: Kernel) -> None:
    at = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    sql = kernel.sql
    rows = await sql.fetch(f"SELECT x.at AS at FROM {sql.rows([('at', 'timestamptz')])}", sql.encode([{"at": at}]))
    assert scrm.as_datetime(rows[0]["at"]) == at
    assert scrm.as_date("2026-12-07") == date(2026, 12, 7)
    assert scrm.as_datetime(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)  # naive: taken as UTC


def test_problem_helpers_name_the_field() -> None:
    problem = scrm.invalid("ends_at", "must be later than starts_at")
    assert problem.status == 422
    assert problem.document()["errors"] == [
        {"field": "ends_at", "source": "body", "message": "must be later than starts_at"}
    ]
    assert scrm.field_error("q", "too long", "query") == {"field": "q", "source": "query", "message": "too long"}


@pytest.mark.parametrize(("value", "ok"), [(1, True), (scrm.MAX_ID, True), (0, False), (scrm.MAX_ID + 1, False)])
def test_ids_are_64_bit_in_bodies(value: int, ok: bool) -> None:
    class Body(msgspec.Struct):
        member_id: scrm.Id

    if ok:
        assert msgspec.convert({"member_id": value}, Body).member_id == value
    else:
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({"member_id": value}, Body)


def test_several_fields_at_once() -> None:
    problem = scrm.invalid_fields([scrm.field_error("a", "required"), scrm.field_error("b", "too long")])
    assert problem.status == 422
    assert problem.detail == "a: required; b: too long"
    assert [e["field"] for e in problem.errors or []] == ["a", "b"]
