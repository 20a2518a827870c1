"""A supervisor stopped inside a transaction (SIGSTOP between its heartbeat's UPDATE and its
COMMIT) holds its supervisor row. PostgreSQL ends such a session after
PG_STALLED_TX_TIMEOUT_MS, so the judge that must declare it dead is not blocked for as long
as it stays stopped; the stopped one, when it resumes, finds itself fenced.

CI once failed on exactly this: test_multihost_late_results' judge waited 30 s on the lock
of a supervisor stopped inside its heartbeat. Probing a running supervisor with random
SIGSTOPs found it inside a transaction about once in 300 stops.
"""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import peewee as pw
import pytest

from openclaw_board.ledger import Ledger, LedgerError
from openclaw_board.ledger.db import PG_STALLED_TX_TIMEOUT_MS
from openclaw_board.supervisor.journal import ledger_trouble

pytestmark = pytest.mark.postgres


def with_options(url: str, options: str) -> str:
    """`url` with `options` added to its libpq server options (the fixture's sets search_path)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = f"{query.get('options', '')} {options}".strip()
    return urlunsplit(parts._replace(query=urlencode(query)))


def setting(ledger: Ledger, name: str) -> str:
    return str(ledger.db.execute_sql(f"SHOW {name}").fetchone()[0])


def test_a_ledger_session_ends_when_it_stalls_inside_a_transaction_unless_its_url_says_otherwise(
        pg_url: str) -> None:
    with Ledger(pg_url) as ours:
        assert setting(ours, "idle_in_transaction_session_timeout") == f"{PG_STALLED_TX_TIMEOUT_MS // 1000}s"
        assert setting(ours, "search_path").startswith("t_")  # the URL's own options are kept
    with Ledger(with_options(pg_url, "-c idle_in_transaction_session_timeout=1500")) as theirs:
        assert setting(theirs, "idle_in_transaction_session_timeout") == "1500ms"


@pytest.mark.slow  # ~5 s: the server has to give up on the stopped session
def test_a_supervisor_stopped_inside_its_heartbeat_does_not_block_its_judge(pg_url: str) -> None:
    # The judge would wait on the lock forever without the fix: its lock_timeout turns that
    # into a failure of this test instead of a hang.
    with Ledger(pg_url) as stopped, Ledger(with_options(pg_url, "-c lock_timeout=30000")) as judge:
        bravo = stopped.register_supervisor("bravo", os.getpid(), None, lease_ms=200).supervisor_id
        alpha = judge.register_supervisor("alpha", os.getpid(), None, lease_ms=60_000).supervisor_id
        expired = []
        began = time.monotonic()
        with pytest.raises((LedgerError, pw.DatabaseError, pw.InterfaceError)) as cut:
            with stopped.atomic():
                assert stopped.heartbeat(bravo)  # its UPDATE holds the row; its COMMIT never comes
                time.sleep(0.3)  # meanwhile its committed heartbeat grows older than its lease
                expired = judge.expire_leases("alpha", f"supervisor:{alpha[:8]}")
        waited = time.monotonic() - began
        assert [e.supervisor.supervisor_id for e in expired] == [bravo], waited
        stopped.reset_connection()  # what the supervisor's loop does after a connection error
        assert stopped.heartbeat(bravo) is False  # declared dead while stopped: fenced
        # The supervisor's journal says what happened to it, not "ledger error" (which the soak
        # counts as a failure); a connection cut in a short turn is still an error.
        said = ledger_trouble(cut.value, waited, postgres=True)
        assert said.startswith(f"this turn took {waited:.1f} s (stopped or starved)"), said
        assert ledger_trouble(cut.value, 0.2, postgres=True).startswith("ledger error")
