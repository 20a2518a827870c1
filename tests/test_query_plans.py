"""No hot query scans the ledger or sorts its history.

Each hot call of the Ledger API runs against a ledger with a history (bulk rows through the
models, as bench/bulk.py makes them, plus live work through the API); every SELECT it sends
is captured from Peewee's query log and explained by the database itself: EXPLAIN QUERY
PLAN on SQLite (whose choice rests on the ledger's fixed statistics), EXPLAIN on PostgreSQL
(whose choice rests on the statistics the ledger gathers when it closes). A plan fails when
it reads every task or event, and, for the statements whose order an index gives (the claim,
the event log, the board's history page), when it sorts.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import PG_SKIP_REASON, pg_schema

from openclaw_board.ledger import Ledger, command_spec, parse_spec, planner
from openclaw_board.ledger.models import SCHEMA_VERSION

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ lives beside tests/
from bench.bulk import rows as bulk_rows  # noqa: E402

HOST = "plan-host"
HISTORY = 3000  # tasks: enough that PostgreSQL prefers an index wherever one is selective


# -- a ledger with a history, per back end, shared by the module --------------------------


@dataclass
class Scene:
    url: str
    ledger: Ledger
    flow_ids: list[str]  # a few flows of the history
    waiting_flow: str  # a flow whose second task waits on its first
    supervisor_id: str


def _fill(url: str) -> None:
    """History through the models (as bench/bulk.py), then closed: the ledger's own upkeep
    on close is what gives PostgreSQL its statistics."""
    flows, tasks, events = bulk_rows(HISTORY, live=True)
    with Ledger(url) as ledger:
        m = ledger.m
        with ledger.db.atomic():
            for model, items in ((m.Flow, flows), (m.Task, tasks), (m.Event, events)):
                for k in range(0, len(items), 500):
                    model.insert_many(items[k:k + 500]).execute()


def _scene(url: str) -> Scene:
    _fill(url)
    ledger = Ledger(url)
    for i in range(20):
        ledger.submit(command_spec(f"backlog {i}", ["true"]))
    spec = parse_spec({"goal": "waits", "tasks": [{"label": "first", "command": ["true"]},
                                                  {"label": "second", "command": ["true"], "after": ["first"]}]})
    waiting_flow, _ = ledger.submit(spec)
    sup = ledger.register_supervisor(HOST, 4242, None)
    Flow = ledger.m.Flow
    flow_ids = [r[0] for r in Flow.select(Flow.flow_id).order_by(Flow.created_at).limit(5).tuples()]
    return Scene(url, ledger, flow_ids, waiting_flow, sup.supervisor_id)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scene(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    if request.param == "sqlite":
        home = tmp_path_factory.mktemp("plans")
        home.chmod(0o700)
        built = _scene(f"sqlite:///{home / 'ledger.db'}")
        yield built
        built.ledger.close()
        return
    if PG_SKIP_REASON:
        pytest.skip(PG_SKIP_REASON)
    with pg_schema() as url:
        built = _scene(url)
        yield built
        built.ledger.close()


# -- what a call sends, and what the database makes of it ---------------------------------


class _Capture(logging.Handler):
    """Peewee logs every statement it executes as (sql, params) at DEBUG."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, tuple]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            sql, params = record.msg
            self.statements.append((sql, tuple(params or ())))


def sent_by(call: Callable[[], Any]) -> list[tuple[str, tuple]]:
    """The SELECTs on ledger tables that `call` executes, each once."""
    logger = logging.getLogger("peewee")
    handler, level = _Capture(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        call()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    seen: dict[str, tuple] = {}
    for sql, params in handler.statements:
        if sql.lstrip().upper().startswith("SELECT") and re.search(r'"(task|flow|event|supervisor)"', sql):
            seen.setdefault(sql, params)
    return list(seen.items())


def _aliases(sql: str) -> dict[str, str]:
    """alias -> table, for SQLite's plan, which names tables by their alias."""
    found = {table: table for table in ("task", "flow", "event", "supervisor")}
    for table, alias in re.findall(r'"(\w+)"\s+AS\s+"?(\w+)"?', sql):
        found[alias] = table
    return found


def plan(ledger: Ledger, sql: str, params: tuple) -> list[str]:
    if ledger.is_sqlite:
        return [row[-1] for row in ledger.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params)]
    return [row[0] for row in ledger.db.execute_sql("EXPLAIN " + sql, params)]


def problems(ledger: Ledger, sql: str, params: tuple, *, ordered: bool) -> list[str]:
    """What is wrong with the plan of one statement (empty when nothing is)."""
    lines = plan(ledger, sql, params)
    found = []
    aliases = _aliases(sql)
    for line in lines:
        if ledger.is_sqlite:
            scan = re.match(r"SCAN (\w+)", line)
            if scan and aliases.get(scan.group(1)) in ("task", "event"):
                found.append(f"reads every row: {line}")
            search = re.match(r"SEARCH (\w+) USING (?:COVERING )?INDEX \S+ \((.*)\)", line)
            if search and aliases.get(search.group(1)) == "task" and search.group(2) == "is_latest=?":
                found.append(f"reads every latest task (is_latest alone selects nearly all): {line}")
            if "USE TEMP B-TREE FOR GROUP BY" in line and re.search(r'FROM "task"', sql):
                found.append(f"sorts tasks to group them: {line}")
            if ordered and "USE TEMP B-TREE FOR ORDER BY" in line:
                found.append(f"sorts instead of reading an index in order: {line}")
        else:
            scan = re.search(r"Seq Scan on (\w+)", line)
            if scan and scan.group(1) in ("task", "event"):
                found.append(f"reads every row: {line.strip()}")
            if ordered and re.match(r"\s*(->\s+)?Sort\s+\(", line):
                found.append(f"sorts instead of reading an index in order: {line.strip()}")
    return [f"{p}\n    in: {sql[:200]}\n    plan: " + " | ".join(x.strip() for x in lines) for p in found]


def assert_no_scan(scene: Scene, call: Callable[[], Any], ordered: Callable[[str], bool] = lambda sql: False) -> None:
    statements = sent_by(call)
    assert statements, "the call sent no SELECT: the test would prove nothing"
    found = [p for sql, params in statements
             for p in problems(scene.ledger, sql, params, ordered=ordered(sql))]
    assert not found, "\n".join(found)


def _claim_order(sql: str) -> bool:
    return 'ORDER BY t."created_at", t."attempt", t."label"' in sql


# -- the supervisor's path: claim, start, finish; submit --------------------------------------


def test_claim_reads_the_backlog_in_index_order(scene: Scene) -> None:
    led = scene.ledger
    statements = sent_by(lambda: led.claim_next(scene.supervisor_id, HOST).task)
    assert any(_claim_order(sql) for sql, _ in statements), "the claim's candidate query was not seen"
    found = [p for sql, params in statements for p in problems(led, sql, params, ordered=_claim_order(sql))]
    assert not found, "\n".join(found)


def test_start_and_finish_read_one_flow(scene: Scene) -> None:
    led = scene.ledger
    task = led.claim_next(scene.supervisor_id, HOST).task
    assert task is not None
    assert_no_scan(scene, lambda: led.record_process(task.task_id, scene.supervisor_id, 4242, 1, "/tmp/none"))
    assert_no_scan(scene, lambda: led.finish(task.task_id, "succeeded", supervisor_id=scene.supervisor_id,
                                             exit_code=0))


def test_a_dependency_is_checked_within_its_flow(scene: Scene) -> None:
    led = scene.ledger
    first = next(t for t in led.latest_attempts(scene.waiting_flow) if t.label == "first")
    assert_no_scan(scene, lambda: led.cancel_task(first.task_id))  # cancels "second" with it


def test_submit_reads_only_its_own_flow(scene: Scene) -> None:
    assert_no_scan(scene, lambda: scene.ledger.submit(command_spec("one more", ["true"])))


def test_the_supervisors_own_lookups(scene: Scene) -> None:
    led = scene.ledger
    assert_no_scan(scene, led.work_outlook)
    assert_no_scan(scene, lambda: led.running_on_host(HOST))
    assert_no_scan(scene, lambda: led.cancel_requests(scene.supervisor_id))
    assert_no_scan(scene, lambda: led.lost_on_host(HOST))  # every recovery pass: the log is read per candidate


# -- the board's and the CLI's reads ------------------------------------------------------------


def test_pressure_counts_read_only_the_statuses_they_count(scene: Scene) -> None:
    assert_no_scan(scene, scene.ledger.task_pressure)
    assert_no_scan(scene, scene.ledger.flow_pressure)


def test_a_few_flows_counts_and_latest_tasks(scene: Scene) -> None:
    led = scene.ledger
    assert_no_scan(scene, lambda: led.task_counts(scene.flow_ids))
    assert_no_scan(scene, lambda: led.latest_tasks_of(scene.flow_ids))
    assert_no_scan(scene, lambda: led.latest_attempts(scene.flow_ids[0]))
    assert_no_scan(scene, lambda: led.flow_attempts(scene.flow_ids[0]))


def test_the_boards_pages_of_flows(scene: Scene) -> None:
    led = scene.ledger

    def history_page(sql: str) -> bool:
        """The most recently updated terminal flows, unfiltered: read from the updated_at index,
        newest first, not sorted. (A filter for issues is selective: sorting what it finds is right.)"""
        return '"updated_at" DESC' in sql

    assert_no_scan(scene, lambda: led.board_flows("all", "", active_cap=5000, terminal_limit=50),
                   ordered=history_page)
    for status in ("active", "issues", "blocked"):
        assert_no_scan(scene, lambda s=status: led.board_flows(s, "", active_cap=5000, terminal_limit=50))
    assert_no_scan(scene, lambda: led.flows_by_ids(scene.flow_ids, "issues", ""))


def test_the_event_log(scene: Scene) -> None:
    led = scene.ledger
    last = led.last_event_id()
    assert_no_scan(scene, lambda: led.events_since(last - 20, limit=5000), ordered=lambda sql: True)
    assert_no_scan(scene, led.last_event_id)
    assert_no_scan(scene, lambda: led.flow_events(scene.flow_ids[0]))
    task = led.latest_attempts(scene.flow_ids[0])[0]
    assert_no_scan(scene, lambda: led.task_events(task.task_id))


# -- statistics, migration, and what the new query shapes fixed -----------------------------


def test_every_index_has_the_fixed_statistics(sqlite_url: str) -> None:
    with Ledger(sqlite_url) as ledger:
        stored = set(ledger.db.execute_sql("SELECT tbl, idx, stat FROM sqlite_stat1").fetchall())
        assert stored == set(planner.stat1_rows(ledger.db))
        indexed = {(table, name) for table, name, _ in planner.sqlite_indexes(ledger.db)}
        assert {(t, i) for t, i, _ in stored} == indexed


def test_statistics_follow_the_ledger_as_it_grows(ledger_url: str) -> None:
    """SQLite keeps the fixed statistics (PRAGMA optimize on close leaves them while the ledger
    is far from 25 times their size); PostgreSQL's are gathered on close once a table grew."""
    _fill(ledger_url)  # 3,000 tasks through the models, then close()
    with Ledger(ledger_url) as ledger:
        if ledger.is_sqlite:
            stored = set(ledger.db.execute_sql("SELECT tbl, idx, stat FROM sqlite_stat1").fetchall())
            assert stored == set(planner.stat1_rows(ledger.db))
            return
        seen = dict(ledger.db.execute_sql(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN ('task', 'flow', 'event') AND "
            "relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())").fetchall())
        assert seen["task"] == HISTORY and seen["event"] > 4 * HISTORY and seen["flow"] > HISTORY / 6
        # PostgreSQL counts a backend's last changes up to a second late, after the ANALYZE its
        # close ran: a first look may analyze once more. Then nothing is stale.
        ledger.optimize()
        assert ledger.optimize() == []


def _to_schema_2(ledger: Ledger) -> None:
    """The ledger as openclaw-board left it at schema 2: its task indexes, no statistics."""
    db = ledger.db
    with db.atomic():
        db.execute_sql('DROP INDEX "task_flow_id_is_latest_created_at_label"')
        db.execute_sql('DROP INDEX "task_status_is_latest_created_at_attempt_label"')
        db.execute_sql('CREATE INDEX "task_flow_id" ON "task" ("flow_id")')
        db.execute_sql('CREATE INDEX "task_is_latest_status" ON "task" ("is_latest", "status")')
        db.execute_sql('CREATE INDEX "task_status_not_before" ON "task" ("status", "not_before")')
        db.execute_sql("UPDATE ledger_meta SET value = '2' WHERE key = 'schema_version'")
        if ledger.is_sqlite:
            db.execute_sql("DELETE FROM sqlite_stat1")


def _indexes(ledger: Ledger) -> set[tuple[str, tuple[str, ...]]]:
    return {(i.name, tuple(i.columns)) for table in ("task", "flow", "event") for i in ledger.db.get_indexes(table)}


def test_a_schema_2_ledger_gets_the_new_indexes(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        fresh = _indexes(ledger)
        flow_id, ids = ledger.submit(command_spec("old work", ["true"], label="old"))
        _to_schema_2(ledger)
        assert "task_is_latest_status" in {name for name, _ in _indexes(ledger)}
    with Ledger(ledger_url) as ledger:
        version = ledger.db.execute_sql("SELECT value FROM ledger_meta WHERE key = 'schema_version'").fetchone()[0]
        assert int(version) == SCHEMA_VERSION
        assert _indexes(ledger) == fresh
        if ledger.is_sqlite:
            stored = set(ledger.db.execute_sql("SELECT tbl, idx, stat FROM sqlite_stat1").fetchall())
            assert stored == set(planner.stat1_rows(ledger.db))
        task = ledger.claim_next("sup-1", "host-a").task
        assert task is not None and task.task_id == ids["old"]
        ledger.finish(task.task_id, "succeeded", supervisor_id="sup-1", exit_code=0)
        assert ledger.get_flow(flow_id).status == "succeeded"


def test_work_queued_behind_a_page_of_waiting_tasks_is_claimed(ledger: Ledger) -> None:
    """300 tasks that wait on `zz-root` sort before it (same flow, same time, label order): a
    claim that looked at the oldest 200 only never found the root, and nothing ever ran."""
    tasks = [{"label": "zz-root", "command": ["true"]}]
    tasks += [{"label": f"fan-{i:03d}", "command": ["true"], "after": ["zz-root"]} for i in range(300)]
    flow_id, ids = ledger.submit(parse_spec({"goal": "fan out", "tasks": tasks}))
    task = ledger.claim_next("sup-1", "host-a").task
    assert task is not None and task.task_id == ids["zz-root"]
    ledger.finish(task.task_id, "succeeded", supervisor_id="sup-1", exit_code=0)
    assert ledger.claim_next("sup-1", "host-a").task.label == "fan-000"


def test_counts_of_more_flows_than_sqlite_binds_at_once(sqlite_url: str) -> None:
    """SQLite builds refuse more than 999 (before 3.32) or 32,766 bound values (Debian's allow
    250,000): `flows list` asks for the counts of every flow, so ids go in chunks."""
    with Ledger(sqlite_url) as ledger:
        ids = [ledger.submit(command_spec(f"flow {i}", ["true"]))[0] for i in range(5)]
        unknown = [str(uuid.uuid4()) for _ in range(1500)]
        ledger.db.connection().setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        counts = ledger.task_counts(unknown + ids)
        latest = ledger.latest_tasks_of(unknown + ids)
    assert counts == {i: {"queued": 1} for i in ids}
    assert [len(latest[i]) for i in ids] == [1] * 5 and not any(latest[i] for i in unknown)


# -- the board's pulse and header ---------------------------------------------------------------

def test_the_pulse_reads_a_span_of_event_ids_never_the_whole_log(scene: Scene) -> None:
    from openclaw_board.ledger.pulse import first_event_id_from, pulse_events, queued_by_runtime

    led = scene.ledger
    last = led.last_event_id()
    assert_no_scan(scene, lambda: first_event_id_from(led, led.now() - 3_600_000))
    # A refresh's span: what was written since the last look. (Over a long span PostgreSQL may
    # rightly read a 3000-task table whole rather than look up a fiftieth of it one by one.)
    assert_no_scan(scene, lambda: pulse_events(led, max(0, last - 30), last),
                   ordered=lambda sql: 'ORDER BY "t1"."id"' in sql)
    assert_no_scan(scene, lambda: queued_by_runtime(led))


def test_the_undelivered_count_reads_the_delivery_index(scene: Scene) -> None:
    led = scene.ledger
    D = led.m.Delivery
    sql, params = D.select(D.id).where(D.status.in_(["pending", "failed"])).sql()
    joined = " | ".join(plan(led, f"SELECT COUNT(1) FROM ({sql}) AS c", tuple(params)))
    if led.is_sqlite:
        assert "USING COVERING INDEX delivery_status_next_try_at" in joined and "SCAN t1" not in joined, joined
    else:
        assert "Seq Scan on delivery" not in joined or "rows=0" in joined or "Index" in joined, joined
