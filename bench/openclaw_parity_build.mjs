// Build an OpenClaw ledger with OpenClaw's own task and TaskFlow registries (not with SQL),
// for bench/openclaw_parity.py. Run with the Node that openclaw needs:
//
//   OPENCLAW_STATE_DIR=DIR node openclaw_parity_build.mjs <openclaw package dir> <now ms> [sessions]
//
// `sessions` builds a small ledger instead: subagent runs whose child session has no entry in
// their agent's session database (openclaw's CLI shows those as lost once 5 minutes passed).
//
// Every record is written the way the gateway writes it (cleanupAfter stamping, flow sync,
// revisions...). The registry's clock is Date.now, so it is moved back and forth to age the
// records; <now ms> is the moment the comparison will be made at. The functions are found by
// name in the package's bundled dist (its exports are renamed), so this follows the
// package's layout of 2026.9.x and says which function it could not find otherwise.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [pkg, nowArg, which = "main"] = process.argv.slice(2);
const NOW = Number(nowArg);
if (!pkg || !Number.isFinite(NOW)) {
  console.error("usage: node openclaw_parity_build.mjs <openclaw package dir> <now ms>");
  process.exit(2);
}
const dist = join(pkg, "dist");

// The registries live in dist/task-*.mjs; look there first.
const files = readdirSync(dist).filter((f) => f.endsWith(".mjs"))
  .sort((a, b) => Number(!a.startsWith("task-")) - Number(!b.startsWith("task-")));

async function find(name) {
  // The bundle file that defines `name` and exports it (under a short alias).
  const pattern = new RegExp(`\\b${name} as (\\w+)\\b`);
  const defined = new RegExp(`(function ${name}\\(|const ${name} = |const \\{[^}]*\\b${name}\\b[^}]*\\} = )`);
  for (const file of files) {
    const text = readFileSync(join(dist, file), "utf8");
    if (!defined.test(text)) continue;
    const exports = text.slice(text.lastIndexOf("export {"));
    const alias = exports.match(pattern);
    if (alias) return (await import(join(dist, file)))[alias[1]];
  }
  throw new Error(`openclaw ${pkg}: no exported function ${name} in dist/ (another release?)`);
}

const createTaskRecord = await find("createTaskRecord");
const markTaskTerminalById = await find("markTaskTerminalById");
const markTaskLostById = await find("markTaskLostById");
const createManagedTaskFlow = await find("createManagedTaskFlow");
const createTaskFlowForTask = await find("createTaskFlowForTask");
const requestFlowCancel = await find("requestFlowCancel");
const setFlowWaiting = await find("setFlowWaiting");
const finishFlow = await find("finishFlow");
const failFlow = await find("failFlow");
const getTaskFlowById = await find("getTaskFlowById");

const MIN = 60_000;
const HOUR = 60 * MIN;
let clock = NOW;
Date.now = () => clock;
const at = (offset) => { clock = NOW + offset; };

const OWNER = "agent:main:main";
const roles = { tasks: {}, flows: {} };
let runs = 0;

function task(role, fields) {
  const created = createTaskRecord({
    runtime: "cli", ownerKey: OWNER, scopeKind: "session", requesterSessionKey: OWNER,
    task: `${role} work`, label: role, status: "queued", notifyPolicy: "done_only",
    runId: `run-${++runs}`, ...fields,
  });
  if (!created) throw new Error(`createTaskRecord refused ${role}`);
  roles.tasks[role] = created.taskId;
  return created;
}

function end(t, status, fields = {}) {
  const done = markTaskTerminalById({ taskId: t.taskId, status, endedAt: Date.now(), ...fields });
  if (!done) throw new Error(`markTaskTerminalById refused ${t.label}`);
  return done;
}

function flow(role, fields = {}) {
  const created = createManagedTaskFlow({ ownerKey: OWNER, controllerId: "parity", goal: role,
                                          status: "running", notifyPolicy: "done_only", ...fields });
  if (!created) throw new Error(`createManagedTaskFlow refused ${role}`);
  roles.flows[role] = created.flowId;
  return created;
}

const current = (f) => getTaskFlowById(f.flowId);
function cancel(f) {
  const r = requestFlowCancel({ flowId: f.flowId, expectedRevision: current(f).revision });
  if (!r.applied) throw new Error(`requestFlowCancel: ${r.reason}`);
}

if (which === "sessions") {
  // Running subagents with a child session key and no session entry: 10 minutes since the last
  // event (past openclaw's 5-minute grace: shown lost), 2 minutes (within it: running).
  at(-10 * MIN);
  task("session-gone", { runtime: "subagent", status: "running", startedAt: Date.now(),
                         childSessionKey: "agent:main:subagent:gone" });
  at(-2 * MIN);
  task("session-fresh", { runtime: "subagent", status: "running", startedAt: Date.now(),
                          childSessionKey: "agent:main:subagent:fresh" });
  process.stdout.write(JSON.stringify(roles) + "\n");
  process.exit(0);
}

// -- managed flows --------------------------------------------------------------------
at(-20 * MIN);
const busy = flow("busy");
task("busy-run", { parentFlowId: busy.flowId, status: "running", startedAt: Date.now() });
at(-2 * MIN);
task("busy-queued", { parentFlowId: busy.flowId });

// Cancel requested, then its task ended cancelled: the flow is cancelled (openclaw #117713).
at(-50 * MIN);
const ended = flow("cancel-then-ended");
const endedTask = task("ended-run", { parentFlowId: ended.flowId, status: "running", startedAt: Date.now() });
at(-48 * MIN);
cancel(ended);
at(-47 * MIN);
end(endedTask, "cancelled", { error: "cancelled by operator" });

// Cancel requested while its task still runs: still cancel-requested.
at(-10 * MIN);
const live = flow("cancel-live");
task("live-run", { parentFlowId: live.flowId, status: "running", startedAt: Date.now() });
at(-MIN);
cancel(live);

// Waiting for 40 minutes: stale_waiting.
at(-40 * MIN);
const waiting = flow("waiting");
setFlowWaiting({ flowId: waiting.flowId, expectedRevision: current(waiting).revision,
                 waitJson: { until: "approval" }, currentStep: "ask" });

// Blocked with no end and a cancel requested 35 minutes ago, nothing live: blocked flows
// without endedAt are not terminal (cancel-requested, cancel_stuck, stale_blocked).
at(-45 * MIN);
const blocked = flow("blocked-open");
setFlowWaiting({ flowId: blocked.flowId, expectedRevision: current(blocked).revision,
                 blockedSummary: "needs a human" });
at(-35 * MIN);
cancel(blocked);

// Blocked on a task that does not exist: blocked_task_missing.
at(-5 * MIN);
const missing = flow("blocked-missing");
setFlowWaiting({ flowId: missing.flowId, expectedRevision: current(missing).revision,
                 blockedTaskId: "00000000-0000-4000-8000-000000000000" });

// Finished ones.
at(-3 * HOUR);
const done = flow("succeeded");
const doneTask = task("done-run", { parentFlowId: done.flowId, status: "running", startedAt: Date.now() });
at(-2 * HOUR);
end(doneTask, "succeeded", { terminalSummary: "all done" });
finishFlow({ flowId: done.flowId, expectedRevision: current(done).revision });

at(-4 * HOUR);
const failed = flow("failed");
const failedTask = task("failed-run", { parentFlowId: failed.flowId, status: "running", startedAt: Date.now() });
at(-3 * HOUR);
end(failedTask, "failed", { error: "exit 3" });
failFlow({ flowId: failed.flowId, expectedRevision: current(failed).revision });

// Running for two hours with no task and no wait state: stale_running, missing_linked_tasks.
at(-2 * HOUR);
flow("stale-empty");

// Queued, never started, cancel requested long ago: cancel_stuck.
at(-30 * MIN);
const queuedCancel = flow("queued-cancel", { status: "queued" });
at(-20 * MIN);
cancel(queuedCancel);

// -- standalone tasks, every status ------------------------------------------------------
at(-MIN);
task("fresh-queued");
at(-15 * MIN);
task("stale-queued", { runtime: "cron" });
at(-2 * MIN);
task("fresh-running", { status: "running", startedAt: Date.now(), runtime: "acp" });
at(-45 * MIN);
task("stale-running", { status: "running", startedAt: Date.now(), runtime: "cron" });
at(-90 * MIN);
end(task("ok", { status: "running", startedAt: Date.now() }), "succeeded", { terminalSummary: "fine" });
at(-80 * MIN);
end(task("blocked-outcome", { status: "running", startedAt: Date.now(), runtime: "cron" }), "succeeded",
    { terminalOutcome: "blocked", terminalSummary: "needs a login" });
at(-70 * MIN);
end(task("failed", { status: "running", startedAt: Date.now(), runtime: "acp" }), "failed", { error: "boom" });
at(-60 * MIN);
end(task("timed-out", { status: "running", startedAt: Date.now() }), "timed_out", { error: "timed out" });
at(-50 * MIN);
end(task("cancelled", { status: "running", startedAt: Date.now() }), "cancelled");
// Delivery failed with notify done_only: delivery_failed.
at(-40 * MIN);
end(task("undelivered", { status: "running", startedAt: Date.now(), deliveryStatus: "failed" }), "succeeded");
// Lost two hours ago (retained one day), and lost two days ago (past retention).
at(-3 * HOUR);
const lostRecent = task("lost-recent", { status: "running", startedAt: Date.now(), runtime: "cron" });
at(-2 * HOUR);
markTaskLostById({ taskId: lostRecent.taskId, endedAt: Date.now(), error: "backing session missing",
                   cleanupAfter: Date.now() + 24 * HOUR });
at(-50 * HOUR);
const lostOld = task("lost-old", { status: "running", startedAt: Date.now(), runtime: "cron" });
at(-48 * HOUR);
markTaskLostById({ taskId: lostOld.taskId, endedAt: Date.now(), cleanupAfter: Date.now() + 24 * HOUR });
// A retry chain: the first attempt failed, the second (parentTaskId) succeeded.
at(-30 * MIN);
const first = end(task("flaky-1", { status: "running", startedAt: Date.now() }), "failed", { error: "rate limited" });
at(-25 * MIN);
end(task("flaky-2", { status: "running", startedAt: Date.now(), parentTaskId: first.taskId }), "succeeded");
// A task with a task_mirrored flow that follows it.
at(-100 * MIN);
const mirrored = end(task("mirrored", { status: "running", startedAt: Date.now(), runtime: "cron" }), "failed",
                     { error: "disk full" });
const mirror = createTaskFlowForTask({ task: mirrored });
if (!mirror) throw new Error("createTaskFlowForTask refused");
roles.flows["mirrored"] = mirror.flowId;

process.stdout.write(JSON.stringify(roles) + "\n");
process.exit(0);
