// Agent simulator: `codex app-server` (Codex 0.169.0 JSON-RPC over stdio without the "jsonrpc" member, docs/agents.md
// "Codex"). Message shapes follow the captured fixtures key for key, in the same key order; values are simplified.
// One file on purpose (~550 lines): a single program mirroring the whole app-server conversation (initialize,
// thread/start|resume, turns, approvals) over shared module state; the shared helpers live in common.mjs.
import {
  applyProcessOptions,
  longLine,
  bigOutput,
  crash,
  err,
  loadScenario,
  loadSession,
  out,
  readLines,
  record,
  saveSession,
  sleep,
  spawnGrandchild,
  turnFor,
  uuidv7,
} from './common.mjs';

const argv = process.argv.slice(2);
record({ kind: 'argv', argv, cwd: process.cwd() });
if (argv[0] !== 'app-server') {
  err(`fake codex: only "app-server" is implemented (got ${JSON.stringify(argv[0] ?? '')})`);
  process.exit(2);
}
const scenario = loadScenario();
if (scenario.startup?.stderr) err(scenario.startup.stderr);
if (scenario.startup?.exit !== undefined) process.exit(scenario.startup.exit);
applyProcessOptions(scenario);

const emitted = () => Date.now();
const notify = (method, params) => out({ method, params, emittedAtMs: emitted() });
const nowSec = () => Math.floor(Date.now() / 1000);

let thread = null; // { id, cwd, model, approvalPolicy, sandbox, turns, total, lastTurnId, lastUsage }
let serverRequestId = 0;
const waitingForClient = new Map();
let current = null; // { id, abort, started, items }
let turnIndex = 0;
let itemCounter = 0;

function threadObject(t, preview = '') {
  return {
    id: t.id,
    environments: [{ environmentId: 'local', cwd: t.cwd, runtimeWorkspaceRoots: [t.cwd] }],
    extra: null,
    sessionId: t.id,
    forkedFromId: null,
    attachedToThreadId: null,
    parentThreadId: null,
    preview,
    ephemeral: false,
    section: null,
    sectionEnteredAt: null,
    projectId: null,
    historyMode: 'paginated',
    modelProvider: 'fake',
    model: t.model,
    reasoningEffort: null,
    createdAt: t.createdAt,
    updatedAt: nowSec(),
    recencyAt: nowSec(),
    status: { type: 'idle' },
    path: `/fake/.codex/sessions/rollout-${t.id}.jsonl`,
    cwd: t.cwd,
    cliVersion: '0.169.0',
    originator: 'fake',
    source: 'vscode',
    canAcceptDirectInput: true,
    threadSource: null,
    agentNickname: null,
    agentRole: null,
    gitInfo: null,
    name: null,
    daybreakEnabled: null,
    turns: [],
  };
}

const SANDBOX_TYPES = {
  'read-only': 'readOnly',
  'workspace-write': 'workspaceWrite',
  'danger-full-access': 'dangerFullAccess',
};

/** thread/start and thread/resume answer with the same fields, resume with a few more (fixture appserver-04). */
function threadResult(t, resumed = false) {
  return {
    thread: threadObject(t),
    model: t.model,
    modelProvider: 'fake',
    serviceTier: null,
    disabledPluginIds: [],
    cwd: t.cwd,
    runtimeWorkspaceRoots: [t.cwd],
    instructionSources: [],
    approvalPolicy: t.approvalPolicy,
    approvalsReviewer: 'user',
    sandbox: { type: SANDBOX_TYPES[t.sandbox] ?? 'readOnly' },
    activePermissionProfile: null,
    reasoningEffort: null,
    ...(resumed
      ? {
          collaborationMode: {
            mode: 'default',
            settings: { model: t.model, reasoning_effort: null, developer_instructions: null },
          },
        }
      : {}),
    multiAgentMode: 'explicitRequestOnly',
    ...(resumed ? { initialTurnsPage: null, turnsBackwardsCursor: null, itemsBackwardsCursor: null } : {}),
  };
}

function turnObject(turn, status, extra = {}) {
  return {
    id: turn.id,
    rootTurnId: turn.id,
    items: [],
    itemsView: 'notLoaded',
    status,
    error: null,
    startedAt: status === 'inProgress' && !extra.started ? null : Math.floor(turn.started / 1000),
    completedAt: null,
    durationMs: null,
    ...extra.fields,
  };
}

const reply = (id, result) => out({ id, result });
const replyError = (id, code, message) => out({ id, error: { code, message } });

/** A server→client request; resolves with the client's result (or null on interrupt). */
function askClient(method, params, signal) {
  const id = serverRequestId++;
  out({ method, id, params });
  return new Promise((resolve) => {
    waitingForClient.set(id, resolve);
    signal?.addEventListener(
      'abort',
      () => {
        if (waitingForClient.delete(id)) {
          notify('serverRequest/resolved', { threadId: thread.id, requestId: id });
          resolve(null);
        }
      },
      { once: true },
    );
  }).then((res) => {
    if (res) notify('serverRequest/resolved', { threadId: thread.id, requestId: id });
    return res;
  });
}

const itemStarted = (turn, item) =>
  notify('item/started', { item, threadId: thread.id, turnId: turn.id, startedAtMs: Date.now() });
const itemCompleted = (turn, item) =>
  notify('item/completed', {
    item,
    threadId: thread.id,
    turnId: turn.id,
    contentTokenCount: null,
    completedAtMs: Date.now(),
  });
const status = (type, activeFlags) =>
  notify('thread/status/changed', { threadId: thread.id, status: activeFlags ? { type, activeFlags } : { type } });

/**
 * `acceptForSession` (protocol §9.2a): the app-server remembers the approved command / changed files until the
 * process exits, so the same command or files run without a new request.
 */
const sessionCommands = new Set();
const sessionPaths = new Set();

function needsApproval(spec) {
  if (sessionCommands.has(spec.command)) return false;
  if (thread.approvalPolicy === 'untrusted') return spec.ask ?? true;
  if (thread.approvalPolicy === 'on-request') return Boolean(spec.escalate);
  return false;
}

async function runCommand(spec, turn) {
  const id = `call_${++itemCounter}`;
  const command = `/bin/bash -lc '${spec.command}'`;
  const item = (fields) => ({
    type: 'commandExecution',
    id,
    pluginId: null,
    scriptPath: null,
    command,
    cwd: thread.cwd,
    processId: null,
    source: 'agent',
    status: 'inProgress',
    commandActions: [{ type: 'unknown', command: spec.command }],
    aggregatedOutput: null,
    exitCode: null,
    durationMs: null,
    startedAtMs: turn.started,
    completedAtMs: null,
    ...fields,
  });
  itemStarted(turn, item({}));
  let decision = 'accept';
  if (needsApproval(spec)) {
    status('active', ['waitingOnApproval']);
    const res = await askClient(
      'item/commandExecution/requestApproval',
      {
        kind: 'command',
        threadId: thread.id,
        turnId: turn.id,
        itemId: id,
        startedAtMs: Date.now(),
        environmentId: 'local',
        ...(spec.reason ? { reason: spec.reason } : {}),
        command,
        cwd: thread.cwd,
        commandActions: [{ type: 'unknown', command: spec.command }],
        proposedExecpolicyAmendment: ['/bin/bash', '-lc', spec.command],
        availableDecisions: [
          'accept',
          { acceptWithExecpolicyAmendment: { execpolicy_amendment: ['/bin/bash', '-lc', spec.command] } },
          'cancel',
        ],
      },
      turn.abort.signal,
    );
    status('active', []);
    if (!res) return;
    decision = res.decision;
    if (decision === 'acceptForSession') sessionCommands.add(spec.command);
  }
  if (decision === 'accept' || decision === 'acceptForSession') {
    record({ kind: 'tool_ran', name: 'commandExecution', input: { command: spec.command } });
    const output = spec.outputBytes ? bigOutput(spec.outputBytes) : (spec.output ?? 'ok\n');
    const exitCode = spec.exitCode ?? 0;
    itemCompleted(
      turn,
      item({
        processId: String(process.pid),
        status: exitCode === 0 ? 'completed' : 'failed',
        aggregatedOutput: output,
        exitCode,
        durationMs: 0,
        completedAtMs: Date.now(),
      }),
    );
  } else {
    itemCompleted(turn, item({ status: 'declined', completedAtMs: Date.now() }));
  }
}

async function runPatch(spec, turn) {
  const id = `call_${++itemCounter}`;
  const changes = (spec.changes ?? [{ path: `${thread.cwd}/patched.txt`, kind: 'add', diff: 'patched line\n' }]).map(
    (c) => ({
      path: c.path,
      kind: { type: c.kind ?? 'add' },
      diff: c.diff ?? '',
    }),
  );
  const item = (fields) => ({
    type: 'fileChange',
    id,
    changes,
    status: 'inProgress',
    startedAtMs: turn.started,
    completedAtMs: null,
    ...fields,
  });
  itemStarted(turn, item({}));
  let decision = 'accept';
  const approvedBefore = changes.every((c) => sessionPaths.has(c.path));
  const policyAsks =
    thread.approvalPolicy === 'untrusted' || thread.approvalPolicy === 'on-request' ? (spec.ask ?? true) : false;
  if (policyAsks && !approvedBefore) {
    status('active', ['waitingOnApproval']);
    const res = await askClient(
      'item/fileChange/requestApproval',
      {
        threadId: thread.id,
        turnId: turn.id,
        itemId: id,
        startedAtMs: Date.now(),
        reason: spec.reason ?? null,
        grantRoot: null,
      },
      turn.abort.signal,
    );
    status('active', []);
    if (!res) return;
    decision = res.decision;
    if (decision === 'acceptForSession') for (const c of changes) sessionPaths.add(c.path);
  }
  const ok = decision === 'accept' || decision === 'acceptForSession';
  if (ok) record({ kind: 'tool_ran', name: 'fileChange', input: { changes } });
  itemCompleted(turn, item({ status: ok ? 'completed' : 'declined', completedAtMs: Date.now() }));
}

async function runAsk(spec, turn) {
  const id = `call_${++itemCounter}`;
  const questions = spec.questions.map((q, i) => ({
    id: q.id ?? `q${i + 1}`,
    header: q.header ?? '',
    question: q.question,
    isOther: true,
    isSecret: false,
    options: q.options ?? null,
  }));
  const res = await askClient(
    'item/tool/requestUserInput',
    { threadId: thread.id, turnId: turn.id, itemId: id, questions, isBlocking: true },
    turn.abort.signal,
  );
  record({ kind: 'user_input_answered', response: res });
}

function agentMessage(turn, text) {
  const id = `msg_${++itemCounter}`;
  const item = (t, done) => ({
    type: 'agentMessage',
    moderation: null,
    id,
    text: t,
    phase: null,
    memoryCitation: null,
    delivery: null,
    questions: null,
    startedAtMs: Date.now(),
    completedAtMs: done ? Date.now() : null,
  });
  itemStarted(turn, item('', false));
  notify('item/agentMessage/delta', { threadId: thread.id, turnId: turn.id, itemId: id, delta: text });
  itemCompleted(turn, item(text, true));
}

function reasoning(turn, text) {
  const id = `rs_${++itemCounter}`;
  const item = (summary, done) => ({
    type: 'reasoning',
    id,
    summary,
    content: [],
    startedAtMs: Date.now(),
    completedAtMs: done ? Date.now() : null,
  });
  itemStarted(turn, item([], false));
  notify('item/reasoning/summaryPartAdded', { threadId: thread.id, turnId: turn.id, itemId: id, summaryIndex: 0 });
  notify('item/reasoning/summaryTextDelta', {
    threadId: thread.id,
    turnId: turn.id,
    itemId: id,
    delta: text,
    summaryIndex: 0,
  });
  itemCompleted(turn, item([text], true));
}

async function runStep(step, turn) {
  if (step.text !== undefined) return agentMessage(turn, step.text);
  if (step.thinking !== undefined) return reasoning(turn, step.thinking);
  if (step.tool) {
    const t = step.tool;
    if (t.name === 'Bash') return runCommand({ ...t, command: t.input?.command ?? 'true' }, turn);
    return runPatch(
      {
        ...t,
        changes: [{ path: t.input?.file_path ?? `${thread.cwd}/file.txt`, kind: 'add', diff: t.input?.content ?? '' }],
      },
      turn,
    );
  }
  if (step.command) return runCommand(step.command, turn);
  if (step.patch) return runPatch(step.patch, turn);
  if (step.ask) return runAsk(step.ask, turn);
  if (step.garbage !== undefined) return out(String(step.garbage));
  if (step.raw !== undefined) return out(step.raw);
  if (step.unknown) return notify('mystery/notification', { threadId: thread.id, payload: { n: 1 } });
  if (step.sleep !== undefined) return sleep(step.sleep, turn.abort.signal);
  if (step.stderr !== undefined) return err(step.stderr);
  if (step.crash) return crash(step.crash);
  if (step.crashLater) return void setTimeout(() => crash(step.crashLater), step.crashLater.ms ?? 100);
  if (step.grandchild)
    return void spawnGrandchild(Boolean(step.grandchild.ignoreSigterm), Boolean(step.grandchild.newSession));
  if (step.longLine) return longLine(step.longLine.bytes);
  if (step.unknownServerRequest) {
    const res = await new Promise((resolve) => {
      const id = serverRequestId++;
      waitingForClient.set(id, resolve);
      out({
        method: 'mcpServer/elicitation/request',
        id,
        params: { threadId: thread.id, turnId: turn.id, serverName: 'x', message: 'hi' },
      });
    });
    return record({ kind: 'client_answered_unknown_request', response: res });
  }
  if (step.apiError) turn.apiError = step.apiError;
}

/** One model call's usage: `last` is the call, `total` accumulates over the thread. */
function tokenUsage(turn, usage) {
  const last = {
    totalTokens: 0,
    inputTokens: 100,
    cachedInputTokens: 20,
    cacheWriteInputTokens: 0,
    outputTokens: 10,
    reasoningOutputTokens: 4,
    ...usage,
  };
  last.totalTokens = last.inputTokens + last.outputTokens;
  const total = { ...last };
  for (const k of Object.keys(total)) total[k] += thread.total?.[k] ?? 0;
  thread.total = total;
  thread.lastTurnId = turn.id;
  thread.lastUsage = last;
  notify('thread/tokenUsage/updated', {
    threadId: thread.id,
    turnId: turn.id,
    tokenUsage: { total, last, modelContextWindow: 258400 },
  });
}

async function runTurn(requestId, params) {
  const text = (params.input ?? [])
    .filter((i) => i.type === 'text')
    .map((i) => i.text)
    .join('\n');
  const turn = { id: uuidv7(), started: Date.now(), abort: new AbortController(), apiError: null };
  current = turn;
  record({ kind: 'turn_params', params });
  reply(requestId, { turn: turnObject(turn, 'inProgress') });
  status('active', []);
  notify('turn/started', { threadId: thread.id, turn: turnObject(turn, 'inProgress', { started: true }) });
  const userItem = (done) => ({
    type: 'userMessage',
    id: uuidv7(),
    clientId: null,
    content: params.input ?? [],
    startedAtMs: turn.started,
    completedAtMs: done ? Date.now() : null,
  });
  itemStarted(turn, userItem(false));
  itemCompleted(turn, userItem(true));
  const script = turnFor(scenario, turnIndex++, text, [
    { thinking: '**Planning** I should answer.' },
    { text: `Hello! You said: ${text}` },
  ]);
  for (const step of script.steps ?? []) {
    if (turn.abort.signal.aborted || turn.apiError) break;
    await runStep(step, turn);
    // A tool ends a model call: the real server reports that call's usage before the next one starts.
    if ((step.command || step.patch || step.tool) && !turn.abort.signal.aborted) tokenUsage(turn, script.usage);
  }
  let finalStatus = 'completed';
  let error = null;
  if (turn.abort.signal.aborted) finalStatus = 'interrupted';
  else if (turn.apiError) {
    finalStatus = 'failed';
    error = { message: turn.apiError.message ?? 'stream disconnected before completion' };
    notify('error', { error: { message: error.message }, willRetry: false, threadId: thread.id, turnId: turn.id });
  } else {
    tokenUsage(turn, script.usage);
  }
  current = null;
  thread.turns++;
  saveSession('codex', thread.id, thread);
  status('idle');
  notify('turn/completed', {
    threadId: thread.id,
    turn: {
      id: turn.id,
      rootTurnId: turn.id,
      items: [],
      itemsView: 'summary',
      status: finalStatus,
      error,
      startedAt: Math.floor(turn.started / 1000),
      completedAt: nowSec(),
      durationMs: Date.now() - turn.started,
    },
  });
}

function onRequest(id, method, params = {}) {
  switch (method) {
    case 'initialize':
      return reply(id, {
        userAgent: `${params.clientInfo?.name ?? 'client'}/0.169.0 (fake)`,
        codexHome: '/fake/.codex',
        platformFamily: 'unix',
        platformOs: 'linux',
      });
    case 'thread/start': {
      thread = {
        id: uuidv7(),
        cwd: params.cwd ?? process.cwd(),
        model: params.model ?? 'gpt-5.5',
        approvalPolicy: params.approvalPolicy ?? 'on-request',
        sandbox: params.sandbox ?? 'read-only',
        createdAt: nowSec(),
        turns: 0,
        total: null,
      };
      saveSession('codex', thread.id, thread);
      reply(id, threadResult(thread));
      return notify('thread/started', { thread: threadObject(thread) });
    }
    case 'thread/resume': {
      const saved = loadSession('codex', String(params.threadId));
      if (!saved) return replyError(id, -32600, `no rollout found for thread id ${params.threadId}`);
      thread = {
        ...saved,
        cwd: params.cwd ?? saved.cwd,
        model: params.model ?? saved.model,
        approvalPolicy: params.approvalPolicy ?? saved.approvalPolicy,
        sandbox: params.sandbox ?? saved.sandbox,
      };
      reply(id, threadResult(thread, true));
      status('idle');
      // Like the real server: the previous turn's usage is replayed before the next turn starts.
      if (saved.lastUsage)
        notify('thread/tokenUsage/updated', {
          threadId: thread.id,
          turnId: saved.lastTurnId,
          tokenUsage: { total: saved.total, last: saved.lastUsage, modelContextWindow: 258400 },
        });
      return;
    }
    case 'turn/start':
      if (!thread || params.threadId !== thread.id)
        return replyError(id, -32600, `thread not found: ${params.threadId}`);
      if (current) return replyError(id, -32600, 'a turn is already in progress');
      return void runTurn(id, params);
    case 'turn/interrupt':
      reply(id, {});
      if (current && params.turnId === current.id) current.abort.abort();
      return;
    default:
      return replyError(id, -32601, `method not found: ${method}`);
  }
}

readLines(
  (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof msg.method === 'string' && msg.id !== undefined) return onRequest(msg.id, msg.method, msg.params);
    if (typeof msg.method === 'string') return; // notifications (initialized, ...)
    if (msg.id !== undefined) {
      const resolve = waitingForClient.get(msg.id);
      if (resolve) {
        waitingForClient.delete(msg.id);
        resolve(msg.error ? { error: msg.error, decision: 'decline' } : (msg.result ?? {}));
      }
    }
  },
  () => process.exit(0),
);
