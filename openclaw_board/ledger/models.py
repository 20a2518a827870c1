"""Peewee models of the ledger: flows, task attempts, the event log, supervisors.

Models are built per database by `build_models(db)`, so that one process can hold two
ledgers at once (tests, a board watching two ledgers) without rebinding shared classes
between threads. Timestamps are integer milliseconds since the epoch, UTC.

Only `ledger.api` writes to these tables (the import-linter contract and code review keep
it so); everything else reads through the Ledger API or the serializers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import peewee as pw

SCHEMA_VERSION = 3

_M = TypeVar("_M", bound="Table")


class Table(pw.Model):
    """What Peewee's metaclass gives every model, declared for the type checker."""

    DoesNotExist: type[pw.DoesNotExist]


class _Record(Table):
    """What every ledger's flow and task rows offer beyond their columns (api.py): an
    OpenClaw row has columns of its own and may carry what `openclaw` answered an action;
    ours have neither, their shape is DESIGN.md's."""

    external_answer: str | None = None

    def extra_fields(self) -> dict[str, object]:
        return {}


# The task table's indexes (schema 3), each named for the queries it serves so that
# no hot query scans the ledger or sorts more than one flow's rows:
# - attempts of one label (retry, `tasks show`), and the uniqueness of an attempt;
# - TASK_BY_FLOW: a flow's latest attempts in order (every write's flow status, the claim's
#   dependency check, the board's rows and counts), and the foreign key;
# - TASK_BY_STATUS: the claim (queued latest attempts, oldest first, read in index order),
#   pressure counts by status, running tasks;
# - a supervisor's own running tasks (cancel requests, leases).
TASK_BY_FLOW = ("flow", "is_latest", "created_at", "label")
TASK_BY_STATUS = ("status", "is_latest", "created_at", "attempt", "label")
TASK_INDEXES = (
    (("flow", "label", "attempt"), True),
    (TASK_BY_FLOW, False),
    (TASK_BY_STATUS, False),
    (("supervisor_id", "status"), False),
)


class FlowModel(_Record):
    """A flow's columns. Never bound to a database itself: `build_models` binds a subclass
    per ledger; declared here, once, so that every column has a type the checker sees."""

    flow_id = pw.CharField(primary_key=True, max_length=36)
    goal = pw.TextField()
    label = pw.TextField(null=True)
    notify = pw.CharField(max_length=16, default="done_only")
    # Derived from the latest attempts and stored, so lists and the board never
    # have to recompute it; every write that could change it recomputes it.
    status = pw.CharField(max_length=16, index=True)
    cancel_requested_at = pw.BigIntegerField(null=True)
    created_at = pw.BigIntegerField()
    updated_at = pw.BigIntegerField(index=True)
    ended_at = pw.BigIntegerField(null=True)
    # The task that blocked or failed the flow, as OpenClaw's flow_runs has it.
    blocked_task_id = pw.CharField(max_length=36, null=True)
    spec_source = pw.TextField(null=True)  # the spec file it came from, if any
    revision = pw.IntegerField(default=0)

    class Meta:
        table_name = "flow"


class TaskModel(_Record):
    """One attempt of a task (see FlowModel for how it is bound)."""

    task_id = pw.CharField(primary_key=True, max_length=36)
    # No index of its own: TASK_BY_FLOW starts with flow_id and serves the key too. The
    # key is only ever compared and read as `flow_id`: no backref, no object access.
    flow = pw.ForeignKeyField(FlowModel, backref="+", column_name="flow_id", on_delete="CASCADE", index=False)
    flow_id: str  # the key's value, as Peewee offers it beside `flow`
    label = pw.TextField()
    runtime = pw.CharField(max_length=32, default="cli")
    status = pw.CharField(max_length=20)
    attempt = pw.IntegerField(default=1)
    parent_task_id = pw.CharField(max_length=36, null=True)
    # Only the newest attempt of each label is "latest"; kept as a column because
    # the board, lists and claims all ask for latest attempts only.
    is_latest = pw.BooleanField(default=True)

    # What to run (from the spec).
    command_json = pw.TextField()  # JSON: a list of argv, or a string when shell
    shell = pw.BooleanField(default=False)
    cwd = pw.TextField(null=True)
    env_json = pw.TextField(null=True)
    timeout_s = pw.FloatField(null=True)
    retries = pw.IntegerField(default=0)
    retry_backoff_s = pw.FloatField(default=5.0)
    after_json = pw.TextField(default="[]")
    requires_approval = pw.BooleanField(default=False)
    approved_at = pw.BigIntegerField(null=True)
    not_before = pw.BigIntegerField(null=True)  # automatic retry backoff

    # What happened.
    exit_code = pw.IntegerField(null=True)
    error = pw.TextField(null=True)
    progress = pw.FloatField(null=True)
    progress_summary = pw.TextField(null=True)
    terminal_summary = pw.TextField(null=True)
    created_at = pw.BigIntegerField()
    started_at = pw.BigIntegerField(null=True)
    ended_at = pw.BigIntegerField(null=True)
    last_event_at = pw.BigIntegerField()
    cancel_requested_at = pw.BigIntegerField(null=True)

    # Who owns the run: the claiming supervisor and the detached process.
    supervisor_id = pw.CharField(max_length=36, null=True)
    host = pw.CharField(max_length=255, null=True)
    pid = pw.IntegerField(null=True)
    pid_start = pw.BigIntegerField(null=True)  # process start time, against pid reuse
    run_dir = pw.TextField(null=True)  # log and exit-code files, on `host`

    # Schema 2: fencing and the bounded output tail (several hosts, one ledger).
    owner_token = pw.IntegerField(null=True)
    log_tail = pw.TextField(null=True)

    class Meta:
        table_name = "task"
        indexes = TASK_INDEXES


class EventModel(Table):
    """Append-only log of every transition. The id is monotonic: readers resume from it."""

    id = pw.BigAutoField()
    at = pw.BigIntegerField()
    flow_id = pw.CharField(max_length=36, index=True)
    task_id = pw.CharField(max_length=36, null=True, index=True)
    kind = pw.CharField(max_length=32)
    from_status = pw.CharField(max_length=20, null=True)
    to_status = pw.CharField(max_length=20, null=True)
    actor = pw.CharField(max_length=64, default="system")
    detail = pw.TextField(null=True)

    class Meta:
        table_name = "event"


class SupervisorModel(Table):
    supervisor_id = pw.CharField(primary_key=True, max_length=36)
    host = pw.CharField(max_length=255)
    pid = pw.IntegerField()
    pid_start = pw.BigIntegerField(null=True)
    started_at = pw.BigIntegerField()
    heartbeat_at = pw.BigIntegerField(index=True)
    lease_ms = pw.IntegerField(default=15000)
    stopped_at = pw.BigIntegerField(null=True)
    concurrency = pw.IntegerField(default=1)
    mode = pw.CharField(max_length=16, default="standalone")  # standalone | embedded
    # Fencing: bumped each time the supervisor (re)registers or is declared dead.
    generation = pw.IntegerField(default=1)

    class Meta:
        table_name = "supervisor"


class MetaModel(Table):
    """Key/value facts about the ledger itself (schema version)."""

    key = pw.CharField(primary_key=True, max_length=64)
    value = pw.TextField()

    class Meta:
        table_name = "ledger_meta"


@dataclass(frozen=True)
class Models:
    Meta: type[MetaModel]
    Flow: type[FlowModel]
    Task: type[TaskModel]
    Event: type[EventModel]
    Supervisor: type[SupervisorModel]

    def all(self) -> list[type[pw.Model]]:
        return [self.Meta, self.Flow, self.Task, self.Event, self.Supervisor]


def build_models(db: pw.Database) -> Models:
    """The models bound to `db`: one subclass of each shape above, per ledger."""

    def bound(shape: type[_M]) -> type[_M]:
        meta = type("Meta", (), {"database": db, "table_name": shape._meta.table_name})
        return type(shape.__name__.removesuffix("Model"), (shape,), {"Meta": meta})

    return Models(Meta=bound(MetaModel), Flow=bound(FlowModel), Task=bound(TaskModel),
                  Event=bound(EventModel), Supervisor=bound(SupervisorModel))
