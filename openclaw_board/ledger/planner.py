"""What the query planners know about a ledger, so that no hot query scans it.

SQLite without statistics guesses: it answered a flow's latest attempts through the
`(is_latest, status)` index and read every latest task of the ledger (26 ms at 100k tasks
instead of 0.02 ms). Its choice must not depend on whether someone ran ANALYZE, nor on how
big the ledger is yet, so a ledger carries fixed `sqlite_stat1` rows that describe the
shape of a big one: a flow holds a few tasks, a status holds many. They are written when
the ledger is created and after every migration (which is when indexes change), and every
index has one: PRAGMA optimize (run on close) then re-measures a table only once it has
grown 25 times past them, and its measured figures have the same shape.

PostgreSQL keeps statistics of its own, but only ANALYZE (or autovacuum, which may be off)
gathers them; without them it reads 50 flows' tasks with a sequential scan. `optimize`
analyzes the ledger's tables once enough of their rows changed, as autovacuum would.
"""

from __future__ import annotations

import peewee as pw

# Rows of each table in the big ledger the statistics describe (bench/bulk.py's shape).
TYPICAL_ROWS = {"task": 100_000, "flow": 30_000, "event": 450_000, "supervisor": 100, "ledger_meta": 4}

# (table, index columns) -> rows that share a value of each leading prefix of the columns.
ROWS_PER_KEY: dict[tuple[str, tuple[str, ...]], tuple[int, ...]] = {
    ("task", ("task_id",)): (1,),
    ("task", ("flow_id", "label", "attempt")): (4, 1, 1),
    ("task", ("flow_id", "is_latest", "created_at", "label")): (4, 3, 1, 1),
    ("task", ("status", "is_latest", "created_at", "attempt", "label")): (12_000, 10_000, 1, 1, 1),
    ("task", ("supervisor_id", "status")): (100, 50),
    ("flow", ("flow_id",)): (1,),
    ("flow", ("status",)): (5_000,),
    ("flow", ("updated_at",)): (1,),
    ("event", ("flow_id",)): (16,),
    ("event", ("task_id",)): (5,),
    ("supervisor", ("supervisor_id",)): (1,),
    ("supervisor", ("heartbeat_at",)): (1,),
    ("ledger_meta", ("key",)): (1,),
}

# PostgreSQL: analyze a table once it grew past the size its statistics describe, or once
# many of its rows changed (autovacuum's default rule). Size is read from the table itself,
# so a bulk insert is seen at once (the change counters reach pg_stat_* only later).
PG_GROWTH = 1.2
PG_MIN_NEW_PAGES = 8
PG_ANALYZE_BASE = 50
PG_ANALYZE_FRACTION = 0.1
ANALYZED_TABLES = ("task", "flow", "event", "supervisor")


def sqlite_indexes(db: pw.Database) -> list[tuple[str, str, tuple[str, ...]]]:
    """(table, index, columns) of every index in the ledger, SQLite's own key indexes included."""
    found = []
    for name, table in db.execute_sql(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND tbl_name NOT LIKE 'sqlite_%'"):
        columns = tuple(row[2] for row in db.execute_sql(f'PRAGMA index_info("{name}")'))
        found.append((table, name, columns))
    return found


def stat1_rows(db: pw.Database) -> list[tuple[str, str, str]]:
    """The sqlite_stat1 rows of this ledger's indexes; KeyError names an index with no figures."""
    rows = []
    for table, name, columns in sqlite_indexes(db):
        per_key = ROWS_PER_KEY.get((table, columns))
        if per_key is None:
            raise KeyError(f"no planner statistics for index {name} on {table}{columns}: add them to ROWS_PER_KEY")
        rows.append((table, name, " ".join(str(n) for n in (TYPICAL_ROWS[table], *per_key))))
    return rows


def write_sqlite_stats(db: pw.Database) -> None:
    """Replace the ledger's sqlite_stat1 with the fixed rows and make this connection use them."""
    db.execute_sql('ANALYZE "ledger_meta"')  # creates sqlite_stat1 (a tiny table: instant)
    db.execute_sql("DELETE FROM sqlite_stat1")
    if db.execute_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat4'").fetchone():
        db.execute_sql("DELETE FROM sqlite_stat4")  # samples of an earlier ANALYZE, on builds that keep them
    for row in stat1_rows(db):
        db.execute_sql("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", row)
    db.execute_sql("ANALYZE sqlite_master")  # reload the statistics in this connection


def after_schema_change(db: pw.Database, is_sqlite: bool) -> None:
    """Statistics for a ledger just created or migrated (indexes may have changed)."""
    if is_sqlite:
        write_sqlite_stats(db)
    else:
        for table in ANALYZED_TABLES:
            db.execute_sql(f'ANALYZE "{table}"')


def optimize(db: pw.Database, is_sqlite: bool) -> list[str]:
    """Refresh statistics where they are stale; cheap when nothing is. Returns what it analyzed
    on PostgreSQL (SQLite's PRAGMA optimize does not say)."""
    if is_sqlite:
        # Bounded: ANALYZE of a table 25 times past its statistics reads at most ~1,000 rows per index.
        db.execute_sql("PRAGMA analysis_limit = 1000")
        db.execute_sql("PRAGMA optimize")
        return []
    stale = []
    rows = db.execute_sql(
        "SELECT c.relname, c.relpages, c.reltuples, "
        "pg_relation_size(c.oid) / current_setting('block_size')::int, s.n_mod_since_analyze "
        "FROM pg_class AS c LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid "
        "WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
        "AND c.relkind = 'r' AND c.relname IN %s", (ANALYZED_TABLES,)).fetchall()
    for table, pages_seen, rows_seen, pages, modified in rows:
        grown = pages > PG_GROWTH * pages_seen + PG_MIN_NEW_PAGES
        churned = (modified or 0) > PG_ANALYZE_BASE + PG_ANALYZE_FRACTION * max(rows_seen, 0)
        if grown or churned:
            db.execute_sql(f'ANALYZE "{table}"')
            stale.append(table)
    return stale
