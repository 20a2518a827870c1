"""What to do with a run, as a table: the facts seen of it in, the action out (decisions.py).

The real-process tests (test_supervisor_recovery.py, _orphans, _requeue, test_multihost_*)
show each action done; these pin the choice itself, including the orders that matter: an
exit file wins over a missing wrapper, a live process is never called lost, and a task whose
start cannot be proved absent is never put back in the queue.
"""

from __future__ import annotations

import pytest

from openclaw_board.supervisor.decisions import (
    NOT_SPAWNED,
    TAKEN,
    UNSETTLED,
    Action,
    Adopted,
    Fenced,
    Watched,
    decide_adopted,
    decide_fenced,
    decide_watched,
)

WATCHED = [
    (Watched(orphan=True), Action.CHECK_ORPHAN),
    (Watched(orphan=True, wrapper_alive=True, exit_recorded=True), Action.CHECK_ORPHAN),
    (Watched(wrapper_alive=True), Action.REPORT),
    (Watched(wrapper_alive=True, exit_recorded=True), Action.REPORT),  # it writes exit, then ends: next turn
    (Watched(exit_recorded=True), Action.FINISH),
    (Watched(exit_recorded=True, stop_sent=True), Action.FINISH),  # the wrapper recorded our stop itself
    (Watched(command_alive=True), Action.WATCH_ORPHAN),
    (Watched(command_alive=True, stop_sent=True), Action.WATCH_ORPHAN),  # still running: never "cancelled" yet
    (Watched(stop_sent=True), Action.CANCELLED),
    (Watched(), Action.LOST),
]


@pytest.mark.parametrize(("facts", "action"), WATCHED, ids=[f"{a}:{f}" for f, a in WATCHED])
def test_a_watched_run(facts: Watched, action: Action) -> None:
    assert decide_watched(facts) == action


ADOPTED = [
    (Adopted(ours_unstarted=True), Action.START),
    (Adopted(exit_recorded=True), Action.FINISH),
    (Adopted(exit_recorded=True, wrapper_alive=True), Action.FINISH),
    (Adopted(wrapper_alive=True, identity_known=True), Action.WATCH),
    (Adopted(command_alive=True), Action.WATCH_ORPHAN),
    (Adopted(command_alive=True, proof=NOT_SPAWNED), Action.WATCH_ORPHAN),  # a live command beats any proof
    (Adopted(proof=UNSETTLED), Action.WAIT),
    (Adopted(proof=NOT_SPAWNED), Action.REQUEUE),
    (Adopted(proof=TAKEN), Action.REQUEUE),
    (Adopted(proof=TAKEN, spec_young=True), Action.REQUEUE),
    (Adopted(spec_young=True), Action.WAIT),  # its wrapper may be starting right now
    (Adopted(spec_young=True, identity_known=True), Action.LOST),  # it had a wrapper, which is gone
    (Adopted(identity_known=True), Action.LOST),
    (Adopted(), Action.LOST),
]


@pytest.mark.parametrize(("facts", "action"), ADOPTED, ids=[f"{a}:{f}" for f, a in ADOPTED])
def test_a_run_taken_over(facts: Adopted, action: Action) -> None:
    assert decide_adopted(facts) == action


FENCED = [
    (Fenced(readopted=True), Action.KEEP),
    (Fenced(readopted=True, status="running", exit_recorded=True), Action.KEEP),
    (Fenced(status="running"), Action.LET_GO),  # another live supervisor adopted it
    (Fenced(status="lost", exit_recorded=True), Action.RECORD_LATE),
    (Fenced(status="succeeded", exit_recorded=True), Action.LET_GO),
    (Fenced(status=None, exit_recorded=True), Action.LET_GO),  # pruned meanwhile, its run had ended
    (Fenced(status="lost"), Action.KILL),  # settled and maybe retried elsewhere: it must not run twice
    (Fenced(status="cancelled"), Action.KILL),
    (Fenced(status=None), Action.KILL),
]


@pytest.mark.parametrize(("facts", "action"), FENCED, ids=[f"{a}:{f}" for f, a in FENCED])
def test_a_run_after_we_were_fenced(facts: Fenced, action: Action) -> None:
    assert decide_fenced(facts) == action


def test_a_live_process_is_never_called_lost() -> None:
    """Whatever else was seen, a wrapper or a command that lives keeps its run out of LOST and REQUEUE."""
    for proof in (None, NOT_SPAWNED, TAKEN, UNSETTLED):
        for young in (False, True):
            for alive in ({"wrapper_alive": True}, {"command_alive": True}):
                action = decide_adopted(Adopted(proof=proof, spec_young=young, identity_known=True, **alive))
                assert action in (Action.WATCH, Action.WATCH_ORPHAN)
    for stop_sent in (False, True):
        assert decide_watched(Watched(wrapper_alive=True, stop_sent=stop_sent)) == Action.REPORT
        assert decide_watched(Watched(command_alive=True, stop_sent=stop_sent)) == Action.WATCH_ORPHAN
