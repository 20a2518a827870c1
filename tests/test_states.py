"""The pure status module: the transition table and how a flow's status is derived."""

from __future__ import annotations

import itertools

import pytest

from openclaw_board.ledger.states import (
    ACTIVE_TASK,
    FLOW_STATUSES,
    TASK_STATUSES,
    TASK_TRANSITIONS,
    TERMINAL_FLOW,
    TERMINAL_TASK,
    can_transition,
    derive_flow_status,
    is_terminal,
    outcome_for_exit,
)

LEGAL = {
    ("awaiting_approval", "queued"),
    ("awaiting_approval", "cancelled"),
    ("queued", "running"),
    ("queued", "cancelled"),
    ("running", "succeeded"),
    ("running", "blocked"),
    ("running", "failed"),
    ("running", "timed_out"),
    ("running", "cancelled"),
    ("running", "lost"),
}


def test_status_sets_partition_the_statuses() -> None:
    assert set(TASK_STATUSES) == ACTIVE_TASK | TERMINAL_TASK
    assert not ACTIVE_TASK & TERMINAL_TASK
    assert TERMINAL_TASK == {"succeeded", "blocked", "failed", "timed_out", "cancelled", "lost"}
    assert set(TASK_TRANSITIONS) == set(TASK_STATUSES)
    assert TERMINAL_FLOW <= set(FLOW_STATUSES)


@pytest.mark.parametrize("src,dst", list(itertools.product(TASK_STATUSES, TASK_STATUSES)))
def test_transition_table_is_exactly_the_legal_moves(src: str, dst: str) -> None:
    assert can_transition(src, dst) == ((src, dst) in LEGAL)


@pytest.mark.parametrize("status", sorted(TERMINAL_TASK))
def test_terminal_statuses_never_move(status: str) -> None:
    assert is_terminal(status)
    assert TASK_TRANSITIONS[status] == frozenset()
    assert not any(can_transition(status, dst) for dst in TASK_STATUSES)


def test_unknown_statuses_cannot_move() -> None:
    assert not can_transition("bogus", "queued")
    assert not can_transition("queued", "bogus")
    assert not is_terminal("bogus")


@pytest.mark.parametrize(
    "exit_code,signal,blocked,expected",
    [
        (0, None, False, "succeeded"),
        (75, None, False, "blocked"),
        (0, None, True, "blocked"),
        (1, None, True, "blocked"),
        (1, None, False, "failed"),
        (2, None, False, "failed"),
        (None, 9, False, "failed"),
        (None, 15, True, "failed"),
        (None, None, False, "failed"),
    ],
)
def test_outcome_for_exit(exit_code: int | None, signal: int | None, blocked: bool, expected: str) -> None:
    assert outcome_for_exit(exit_code, signal, blocked) == expected


@pytest.mark.parametrize(
    "latest,expected",
    [
        ([], "succeeded"),
        (["queued"], "queued"),
        (["queued", "queued"], "queued"),
        (["awaiting_approval"], "waiting"),
        (["awaiting_approval", "queued"], "waiting"),
        (["running"], "running"),
        (["running", "awaiting_approval"], "running"),
        (["running", "failed"], "running"),
        (["queued", "succeeded"], "running"),  # part done, part queued: progress
        (["queued", "failed"], "running"),
        (["awaiting_approval", "succeeded"], "waiting"),
        (["succeeded"], "succeeded"),
        (["succeeded", "succeeded"], "succeeded"),
        (["succeeded", "cancelled"], "cancelled"),
        (["succeeded", "blocked"], "blocked"),
        (["blocked", "cancelled"], "blocked"),
        (["failed", "blocked"], "failed"),
        (["timed_out", "succeeded"], "failed"),
        (["failed", "lost"], "lost"),
        (["lost", "succeeded", "blocked"], "lost"),
        (["cancelled"], "cancelled"),
    ],
)
def test_derive_without_cancel(latest: list[str], expected: str) -> None:
    assert derive_flow_status(latest, False) == expected
    assert derive_flow_status(iter(latest), False) == expected  # any iterable


@pytest.mark.parametrize(
    "latest,expected",
    [
        # Live work still shows while a sticky cancel settles.
        (["running"], "running"),
        (["running", "cancelled"], "running"),
        (["queued"], "queued"),
        (["awaiting_approval"], "queued"),
        (["queued", "succeeded"], "queued"),
        # Once everything settled, a sticky cancel wins over every outcome.
        (["cancelled"], "cancelled"),
        (["succeeded", "cancelled"], "cancelled"),
        (["succeeded"], "cancelled"),
        (["failed", "cancelled"], "cancelled"),
        (["lost", "blocked"], "cancelled"),
        ([], "cancelled"),
    ],
)
def test_derive_with_sticky_cancel(latest: list[str], expected: str) -> None:
    assert derive_flow_status(latest, True) == expected


def test_derive_is_total_and_consistent() -> None:
    """Every combination derives a flow status; active work never derives a terminal one."""
    combos = [c for n in (0, 1, 2, 3) for c in itertools.combinations_with_replacement(TASK_STATUSES, n)]
    for combo, cancel in itertools.product(combos, (False, True)):
        status = derive_flow_status(combo, cancel)
        assert status in FLOW_STATUSES, combo
        if set(combo) & ACTIVE_TASK:
            assert status not in TERMINAL_FLOW, (combo, cancel)
        else:
            assert status in TERMINAL_FLOW, (combo, cancel)
        if cancel and not set(combo) & ACTIVE_TASK:
            assert status == "cancelled", combo
        # Order never matters.
        assert derive_flow_status(tuple(reversed(combo)), cancel) == status
