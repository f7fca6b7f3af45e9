// Agent simulator: `claude` (Claude Code 2.1.329 stream-json protocol, docs/agents.md). Line shapes follow the
// captured fixtures key for key, in the same key order; values are simplified.
// One file on purpose (~850 lines): it is a single program mirroring one CLI's whole conversation (flags, init,
// turns, tool permissions, plan mode, questions) over shared module state; the shared helpers live in common.mjs.
import {
  applyProcessOptions,
  longLine,
  bigOutput,
  crash,
  err,
  loadScenario,
  loadSession,
  out,
  parseArgs,
  readLines,
  record,
  saveSession,
  sleep,
  spawnGrandchild,
  turnFor,
  uuid,
} from './common.mjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const VALUE_FLAGS = [
  '--output-format',
  '--input-format',
  '--permission-prompt-tool',
  '--permission-mode',
  '--session-id',
  '--resume',
  '-r',
  '--model',
  '--effort',
  '--settings',
  '--max-turns',
  '--allowedTools',
  '--allowed-tools',
  '--disallowedTools',
  '--tools',
  '--append-system-prompt',
  '--system-prompt',
  '--add-dir',
  '--mcp-config',
  '--setting-sources',
  '--max-budget-usd',
  '--fallback-model',
  '--permission-prompts',
];

const argv = process.argv.slice(2);
record({ kind: 'argv', argv, cwd: process.cwd() });
const scenario = loadScenario();
const { flags } = parseArgs(argv, VALUE_FLAGS);

if (flags['--output-format'] === 'stream-json' && !flags['--verbose']) {
  err('Error: When using --print, --output-format=stream-json requires --verbose');
  process.exit(1);
}
let mode = typeof flags['--permission-mode'] === 'string' ? flags['--permission-mode'] : 'default';
if (mode === 'manual') mode = 'default';
if (flags['--dangerously-skip-permissions']) mode = 'bypassPermissions';
if (mode === 'bypassPermissions' && process.getuid?.() === 0 && process.env.IS_SANDBOX !== '1') {
  err('--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons');
  process.exit(1);
}
const promptTool = flags['--permission-prompt-tool'];

/** `--allowedTools a b,c` (repeatable): rule strings, split at commas/spaces outside parentheses like the CLI. */
function allowedToolsFromArgv(args) {
  const rules = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    let values = [];
    if (a === '--allowedTools' || a === '--allowed-tools') {
      while (i + 1 < args.length && !args[i + 1].startsWith('-')) values.push(args[++i]);
    } else if (a.startsWith('--allowedTools=') || a.startsWith('--allowed-tools=')) {
      values = [a.slice(a.indexOf('=') + 1)];
    }
    for (const v of values) {
      let depth = 0;
      let cur = '';
      for (const ch of v) {
        if (ch === '(') depth++;
        if (ch === ')') depth--;
        if ((ch === ',' || ch === ' ') && depth === 0) {
          if (cur) rules.push(cur);
          cur = '';
        } else cur += ch;
      }
      if (cur) rules.push(cur);
    }
  }
  return rules;
}
/** Rules from the command line (`config`) and rules the host added for the session (`user_temporary`). */
const configRules = allowedToolsFromArgv(argv);
const sessionRules = [];
const ruleString = (r) => (r.ruleContent ? `${r.toolName}(${r.ruleContent})` : r.toolName);
/** The text a rule's content is matched against (Bash: the command; file tools: the path). */
const ruleSubject = (name, input) =>
  name === 'Bash' ? String(input.command ?? '') : String(input.file_path ?? input.notebook_path ?? input.url ?? '');
function ruleMatches(rule, name, input) {
  const m = /^([^(]+)(?:\((.*)\))?$/s.exec(rule);
  if (!m || m[1] !== name) return false;
  if (m[2] === undefined) return true;
  const subject = ruleSubject(name, input);
  if (m[2].endsWith(':*')) return subject.startsWith(m[2].slice(0, -2));
  return subject === m[2];
}
const matchingRule = (name, input) => {
  if (sessionRules.some((r) => ruleMatches(r, name, input))) return 'user_temporary';
  if (configRules.some((r) => ruleMatches(r, name, input))) return 'config';
  return null;
};
/** The suggestions Claude Code 2.1.329 sends with a can_use_tool (fixtures 02, 18, 21). */
function suggestionsFor(name, input) {
  const setMode = { type: 'setMode', mode: 'acceptEdits', destination: 'session' };
  if (name === 'Bash' && typeof input.command === 'string') {
    return [
      {
        type: 'addRules',
        rules: [{ toolName: 'Bash', ruleContent: input.command }],
        behavior: 'allow',
        destination: 'localSettings',
      },
      setMode,
    ];
  }
  return [setMode];
}
/** `updatedPermissions` of an allow: session rules are kept in memory; any other destination is a settings file. */
function applyPermissionUpdates(updates) {
  for (const u of Array.isArray(updates) ? updates : []) {
    if (u?.type !== 'addRules' || !Array.isArray(u.rules)) continue;
    const rules = u.rules.map(ruleString);
    if (u.destination === 'session') {
      sessionRules.push(...rules);
      continue;
    }
    // Like the real CLI: localSettings/projectSettings land in the work folder's .claude/, userSettings in HOME.
    const file =
      u.destination === 'userSettings'
        ? join(process.env.CLAUDE_CONFIG_DIR ?? join(homedir(), '.claude'), 'settings.json')
        : join(cwd, '.claude', u.destination === 'projectSettings' ? 'settings.json' : 'settings.local.json');
    mkdirSync(dirname(file), { recursive: true });
    const current = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
    current.permissions = current.permissions ?? {};
    current.permissions.allow = [...(current.permissions.allow ?? []), ...rules];
    writeFileSync(file, JSON.stringify(current, null, 2) + '\n');
    record({ kind: 'settings_written', file, rules });
  }
}
const model = typeof flags['--model'] === 'string' ? flags['--model'] : 'claude-sonnet-4-5';
const cwd = process.cwd();

const usageBlock = (u) => ({
  input_tokens: u.input_tokens ?? 0,
  cache_creation_input_tokens: u.cache_creation_input_tokens ?? 0,
  cache_read_input_tokens: u.cache_read_input_tokens ?? 0,
  output_tokens: u.output_tokens ?? 0,
  output_tokens_details: { thinking_tokens: 0 },
  server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
  service_tier: 'standard',
  cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 },
  inference_geo: '',
  iterations: [],
  speed: 'standard',
  fallback_credit: null,
});

const resumeId = flags['--resume'] ?? flags['-r'];
let session = null;
if (typeof resumeId === 'string') {
  session = loadSession('claude', resumeId);
  if (!session) {
    const message = `No conversation found with session ID: ${resumeId}`;
    err(message);
    out({
      type: 'result',
      subtype: 'error_during_execution',
      duration_ms: 0,
      duration_api_ms: 0,
      is_error: true,
      num_turns: 0,
      stop_reason: null,
      session_id: resumeId,
      total_cost_usd: 0,
      usage: usageBlock({}),
      modelUsage: {},
      permission_denials: [],
      uuid: uuid(),
      errors: [message],
      result_index: 0,
    });
    process.exit(1);
  }
}
const sessionId =
  typeof resumeId === 'string' ? resumeId : typeof flags['--session-id'] === 'string' ? flags['--session-id'] : uuid();
session ??= { turns: 0, history: [], cwd };

if (scenario.startup?.stderr) err(scenario.startup.stderr);
if (scenario.startup?.exit !== undefined) process.exit(scenario.startup.exit);
applyProcessOptions(scenario);

const queue = [];
const pendingResponses = new Map();
let running = false;
let eof = false;
let turnIndex = 0;
let lastIsError = false;
let resultIndex = 0;
let msgCounter = 0;
let toolCounter = 0;
let current = null; // { abort: AbortController }

const base = () => ({ parent_tool_use_id: null, session_id: sessionId, uuid: uuid() });
const now = () => new Date().toISOString();

function init() {
  const tools = [
    'Task',
    ...(promptTool === 'stdio' ? ['AskUserQuestion'] : []),
    'Bash',
    'Edit',
    ...(promptTool === 'stdio' ? ['EnterPlanMode', 'ExitPlanMode'] : []),
    'Read',
    'Write',
  ];
  out({
    type: 'system',
    subtype: 'init',
    cwd,
    session_id: sessionId,
    tools,
    mcp_servers: [],
    model,
    permissionMode: mode,
    slash_commands: [],
    terminal_slash_commands: [],
    apiKeySource: 'none',
    claude_code_version: '2.1.329',
    output_style: 'default',
    agents: [],
    skills: [],
    plugins: [],
    capabilities: ['interrupt_receipt_v1'],
    analytics_disabled: true,
    product_feedback_disabled: true,
    served_by_anthropic: false,
    uuid: uuid(),
    memory_paths: { auto: '' },
    original_cwd: cwd,
    additional_directories: [],
    messaging_socket_path: '',
    fast_mode_state: 'off',
    fast_mode_disabled_reason: 'sdk_opt_in_required',
    per_turn_effort_active: false,
    ultrathink_available: false,
    ultrathink_typed_raises: false,
    view_mode: 'default',
  });
}

function assistant(block, extra = {}) {
  const b = base();
  out({
    type: 'assistant',
    message: {
      id: `msg_fake_${msgCounter}`,
      type: 'message',
      role: 'assistant',
      model,
      content: [block],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 120, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      context_management: null,
    },
    parent_tool_use_id: b.parent_tool_use_id,
    session_id: b.session_id,
    uuid: b.uuid,
    timestamp: now(),
    ...extra,
  });
}

function toolResult(block, toolUseResult, meta) {
  const b = base();
  out({
    type: 'user',
    message: { role: 'user', content: [block] },
    parent_tool_use_id: b.parent_tool_use_id,
    session_id: b.session_id,
    uuid: b.uuid,
    timestamp: now(),
    tool_use_result: toolUseResult,
    ...(meta ? { tool_result_meta: meta } : {}),
  });
}

function respond(requestId, response) {
  out({ type: 'control_response', response: { subtype: 'success', request_id: requestId, response } });
}

/** Sends a control_request to the host and waits for its control_response (or an interrupt). */
function askHost(request, signal, cancelAfterMs) {
  const requestId = uuid();
  out({ type: 'control_request', request_id: requestId, request });
  return new Promise((resolve) => {
    pendingResponses.set(requestId, resolve);
    const cancel = () => {
      if (!pendingResponses.delete(requestId)) return;
      out({ type: 'control_cancel_request', request_id: requestId });
      resolve(null);
    };
    signal.addEventListener('abort', cancel, { once: true });
    if (cancelAfterMs !== undefined) setTimeout(cancel, cancelAfterMs);
  });
}

async function runTool(spec, t) {
  const id = `toolu_fake_${++toolCounter}`;
  let input = spec.input ?? {};
  assistant({ type: 'tool_use', id, name: spec.name, input });
  const ruleSource = matchingRule(spec.name, input);
  const mustAsk = (spec.ask ?? true) && !ruleSource;
  if (mustAsk && mode !== 'bypassPermissions') {
    if (promptTool !== 'stdio') {
      const message = `Claude requested permissions to use ${spec.name}, but you haven't granted it yet.`;
      out({
        type: 'system',
        subtype: 'permission_denied',
        tool_name: spec.name,
        tool_use_id: id,
        message,
        uuid: uuid(),
        session_id: sessionId,
      });
      toolResult({ type: 'tool_result', content: message, is_error: true, tool_use_id: id }, `Error: ${message}`);
      t.denials.push({ tool_name: spec.name, tool_use_id: id, tool_input: input });
      return;
    }
    const res = await askHost(
      {
        subtype: 'can_use_tool',
        tool_name: spec.name,
        display_name: spec.name,
        input,
        description: spec.description ?? input.description ?? spec.name,
        permission_suggestions: suggestionsFor(spec.name, input),
        tool_use_id: id,
      },
      t.abort.signal,
      spec.cancelAfterMs,
    );
    if (!res) {
      if (t.abort.signal.aborted) {
        // An interrupt while the host decides (fixture 19): the tool is rejected and the turn ends "for tool use".
        t.interruptedInTool = true;
        toolResult(
          { type: 'tool_result', content: TOOL_REJECTED, is_error: true, tool_use_id: id },
          'User rejected tool use',
          [{ id, non_execution_kind: 'user-rejected' }],
        );
      }
      return;
    }
    if (res.behavior !== 'allow') {
      const message = res.message ?? 'denied';
      toolResult({ type: 'tool_result', content: message, is_error: true, tool_use_id: id }, `Error: ${message}`, [
        {
          id,
          non_execution_kind: 'permission-rule',
          permission_decision: { decision: 'reject', source: 'user_reject' },
        },
      ]);
      t.denials.push({ tool_name: spec.name, tool_use_id: id, tool_input: input });
      return;
    }
    input = res.updatedInput ?? input;
    applyPermissionUpdates(res.updatedPermissions);
  }
  record({ kind: 'tool_ran', name: spec.name, input, ...(ruleSource ? { rule: ruleSource } : {}) });
  const output = spec.outputBytes ? bigOutput(spec.outputBytes) : (spec.output ?? 'ok');
  // The decision's source as the real CLI reports it (fixtures 02, 18): a rule adds `reason_type: "rule"`.
  const decision = ruleSource
    ? { decision: 'accept', source: ruleSource, reason_type: 'rule' }
    : { decision: 'accept', source: (spec.ask ?? true) ? 'user_temporary' : 'config' };
  toolResult(
    { tool_use_id: id, type: 'tool_result', content: output, is_error: spec.isError ?? false },
    { stdout: output, stderr: '', interrupted: false, isImage: false, noOutputExpected: false },
    [{ id, permission_decision: decision }],
  );
}

const TOOL_REJECTED =
  "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file edit, the new_string was NOT written to the file). STOP what you are doing and wait for the user to tell you how to proceed.";

/**
 * ExitPlanMode (fixture 20): the model's tool_use carries the plan, the can_use_tool request an empty input
 * with `requires_user_interaction`. Allow leaves plan mode; deny is an error tool_result with the message.
 */
async function runPlan(spec, t) {
  const id = `toolu_fake_${++toolCounter}`;
  const plan = typeof spec === 'string' ? spec : (spec.plan ?? '');
  assistant({ type: 'tool_use', id, name: 'ExitPlanMode', input: { plan } });
  if (promptTool !== 'stdio') {
    toolResult(
      {
        type: 'tool_result',
        content: '<tool_use_error>No such tool available: ExitPlanMode</tool_use_error>',
        is_error: true,
        tool_use_id: id,
      },
      'Error: No such tool available: ExitPlanMode',
    );
    return;
  }
  const res = await askHost(
    {
      subtype: 'can_use_tool',
      tool_name: 'ExitPlanMode',
      display_name: 'ExitPlanMode',
      input: {},
      tool_use_id: id,
      requires_user_interaction: true,
    },
    t.abort.signal,
    spec.cancelAfterMs,
  );
  if (!res) {
    if (t.abort.signal.aborted) {
      t.interruptedInTool = true;
      toolResult(
        { type: 'tool_result', content: TOOL_REJECTED, is_error: true, tool_use_id: id },
        'User rejected tool use',
        [{ id, non_execution_kind: 'user-rejected' }],
      );
    }
    return;
  }
  if (res.behavior !== 'allow') {
    const b = base();
    out({
      type: 'user',
      message: {
        role: 'user',
        content: [{ type: 'tool_result', content: res.message ?? 'denied', is_error: true, tool_use_id: id }],
      },
      parent_tool_use_id: b.parent_tool_use_id,
      session_id: b.session_id,
      uuid: b.uuid,
      timestamp: now(),
      tool_use_result: `Error: ${res.message}`,
    });
    record({ kind: 'plan_answered', behavior: 'deny', message: res.message });
    return;
  }
  record({ kind: 'plan_answered', behavior: 'allow' });
  if (mode === 'plan') {
    mode = 'default';
    out({ type: 'system', subtype: 'status', status: null, permissionMode: mode, uuid: uuid(), session_id: sessionId });
  }
  const b = base();
  out({
    type: 'user',
    message: {
      role: 'user',
      content: [
        { type: 'tool_result', content: 'User has approved exiting plan mode. You can now proceed.', tool_use_id: id },
      ],
    },
    parent_tool_use_id: b.parent_tool_use_id,
    session_id: b.session_id,
    uuid: b.uuid,
    timestamp: now(),
    tool_use_result: {
      plan: null,
      isAgent: false,
      filePath: join(process.env.CLAUDE_CONFIG_DIR ?? join(homedir(), '.claude'), 'plans', 'fake-plan.md'),
    },
    tool_result_meta: [{ id, permission_decision: { decision: 'accept', source: 'user_temporary' } }],
  });
}

async function runAsk(spec, t) {
  const id = `toolu_fake_${++toolCounter}`;
  const input = { questions: spec.questions };
  assistant({ type: 'tool_use', id, name: 'AskUserQuestion', input });
  if (promptTool !== 'stdio') {
    toolResult(
      {
        type: 'tool_result',
        content: '<tool_use_error>No such tool available: AskUserQuestion</tool_use_error>',
        is_error: true,
        tool_use_id: id,
      },
      'Error: No such tool available: AskUserQuestion',
    );
    return;
  }
  const res = await askHost(
    {
      subtype: 'can_use_tool',
      tool_name: 'AskUserQuestion',
      display_name: 'AskUserQuestion',
      input,
      tool_use_id: id,
      requires_user_interaction: true,
    },
    t.abort.signal,
    spec.cancelAfterMs,
  );
  if (!res) return;
  if (res.behavior !== 'allow') {
    toolResult(
      { type: 'tool_result', content: res.message ?? 'denied', is_error: true, tool_use_id: id },
      `Error: ${res.message}`,
    );
    return;
  }
  const answers = res.updatedInput?.answers ?? {};
  const pairs = Object.entries(answers)
    .map(([q, a]) => `"${q}"="${a}"`)
    .join(', ');
  const content = pairs
    ? `Your questions have been answered: ${pairs}. You can now continue with these answers in mind.`
    : 'The user did not answer the questions.';
  toolResult({ type: 'tool_result', content, tool_use_id: id }, { questions: spec.questions, answers }, [
    { id, permission_decision: { decision: 'accept', source: 'user_temporary' } },
  ]);
}

async function runStep(step, t) {
  if (step.text !== undefined) {
    t.lastText = step.text;
    return assistant({ type: 'text', text: step.text });
  }
  if (step.thinking !== undefined) {
    return assistant(
      { type: 'thinking', thinking: step.thinking, signature: 'c2lnLWZha2U=' },
      { thinking_duration_ms: 1, thinking_display: 'updates' },
    );
  }
  if (step.tool) return runTool(step.tool, t);
  if (step.ask) return runAsk(step.ask, t);
  if (step.plan !== undefined) return runPlan(step.plan, t);
  if (step.enterPlanMode) {
    // EnterPlanMode runs without asking (fixture 20): the mode changes, then its tool_result.
    const id = `toolu_fake_${++toolCounter}`;
    assistant({ type: 'tool_use', id, name: 'EnterPlanMode', input: {} });
    mode = 'plan';
    out({ type: 'system', subtype: 'status', status: null, permissionMode: mode, uuid: uuid(), session_id: sessionId });
    const message =
      'Entered plan mode. You should now focus on exploring the codebase and designing an implementation approach.';
    const b = base();
    out({
      type: 'user',
      message: { role: 'user', content: [{ type: 'tool_result', content: message, tool_use_id: id }] },
      parent_tool_use_id: b.parent_tool_use_id,
      session_id: b.session_id,
      uuid: b.uuid,
      timestamp: now(),
      tool_use_result: { message },
      tool_result_meta: [{ id, permission_decision: { decision: 'accept', source: 'config' } }],
    });
    return;
  }
  if (step.garbage !== undefined) return out(String(step.garbage));
  if (step.raw !== undefined) return out(step.raw);
  if (step.unknown)
    return out({ type: 'mystery_event', subtype: 'whatever', payload: { n: 1 }, session_id: sessionId, uuid: uuid() });
  if (step.sleep !== undefined) return sleep(step.sleep, t.abort.signal);
  if (step.stderr !== undefined) return err(step.stderr);
  if (step.crash) return crash(step.crash);
  if (step.crashLater) return void setTimeout(() => crash(step.crashLater), step.crashLater.ms ?? 100);
  if (step.grandchild)
    return void spawnGrandchild(Boolean(step.grandchild.ignoreSigterm), Boolean(step.grandchild.newSession));
  if (step.longLine) return longLine(step.longLine.bytes);
  if (step.status !== undefined)
    return out({ type: 'system', subtype: 'status', status: step.status, session_id: sessionId, uuid: uuid() });
  if (step.apiRetry) {
    return out({
      type: 'system',
      subtype: 'api_retry',
      attempt: step.apiRetry.attempt ?? 1,
      max_retries: 10,
      retry_delay_ms: step.apiRetry.delayMs ?? 500,
      error_status: step.apiRetry.status ?? 500,
      error: 'server_error',
      session_id: sessionId,
      uuid: uuid(),
    });
  }
  if (step.compact) {
    return out({
      type: 'system',
      subtype: 'compact_boundary',
      session_id: sessionId,
      uuid: uuid(),
      compact_metadata: { trigger: 'auto', pre_tokens: 1000 },
    });
  }
  if (step.unknownControlRequest) {
    const res = await new Promise((resolve) => {
      const requestId = uuid();
      pendingResponses.set(requestId, resolve);
      out({
        type: 'control_request',
        request_id: requestId,
        request: { subtype: 'hook_callback', callback_id: 'cb_1', input: {} },
      });
    });
    return record({ kind: 'host_answered_unknown_request', response: res });
  }
  if (step.apiError) t.apiError = step.apiError;
}

async function runTurn(text) {
  const index = turnIndex++;
  const turn = turnFor(scenario, index, text, [{ thinking: 'Simple greeting.' }, { text: `Hello! You said: ${text}` }]);
  const t = { abort: new AbortController(), denials: [], lastText: '', apiError: null, interruptedInTool: false };
  current = t;
  msgCounter++;
  const started = Date.now();
  init();
  for (const step of turn.steps ?? []) {
    if (t.abort.signal.aborted || t.apiError) break;
    await runStep(step, t);
  }
  current = null;
  const u = turn.usage ?? {};
  const common = (isError) => ({
    duration_api_ms: Date.now() - started,
    stop_reason: null,
    session_id: sessionId,
    total_cost_usd: u.total_cost_usd ?? 0.00081,
    usage: usageBlock({ input_tokens: 120, output_tokens: 30, ...u }),
    modelUsage: {},
    permission_denials: t.denials,
    terminal_reason: 'completed',
    fast_mode_state: 'off',
    fast_mode_disabled_reason: 'sdk_opt_in_required',
    subagent_stats: {},
    safety_stops: 0,
    is_error: isError,
    num_turns: 1,
  });
  if (t.abort.signal.aborted) {
    const b = base();
    out({
      type: 'user',
      message: {
        role: 'user',
        content: [
          {
            type: 'text',
            text: t.interruptedInTool ? '[Request interrupted by user for tool use]' : '[Request interrupted by user]',
          },
        ],
      },
      parent_tool_use_id: b.parent_tool_use_id,
      session_id: b.session_id,
      uuid: b.uuid,
      timestamp: now(),
    });
    out({
      ...common(true),
      terminal_reason: t.interruptedInTool ? 'aborted_tools' : 'aborted_streaming',
      subtype: 'error_during_execution',
      total_cost_usd: 0,
      usage: usageBlock({}),
      errors: ['[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null'],
      type: 'result',
      duration_ms: Date.now() - started,
      uuid: uuid(),
      queued_turn_count: 0,
      result_index: resultIndex++,
      model_usage_since_last_result: {},
    });
    lastIsError = true;
  } else if (t.apiError) {
    const message = `API Error: ${t.apiError.status ?? 400} ${t.apiError.message ?? 'bad request'}`;
    const b = base();
    out({
      type: 'assistant',
      message: {
        diagnostics: null,
        id: uuid(),
        container: null,
        model: '<synthetic>',
        role: 'assistant',
        stop_details: null,
        stop_reason: 'stop_sequence',
        stop_sequence: '',
        type: 'message',
        usage: usageBlock({}),
        content: [{ type: 'text', text: message }],
        context_management: null,
      },
      parent_tool_use_id: b.parent_tool_use_id,
      session_id: b.session_id,
      uuid: b.uuid,
      timestamp: now(),
      error: 'unknown',
      is_api_error_message: true,
      api_error_status: t.apiError.status ?? 400,
      api_error_type: 'invalid_request_error',
    });
    out({
      ...common(true),
      stop_reason: 'stop_sequence',
      total_cost_usd: 0,
      usage: usageBlock({}),
      terminal_reason: 'api_error',
      subtype: 'success',
      api_error_status: t.apiError.status ?? 400,
      api_error_type: 'invalid_request_error',
      result: message,
      type: 'result',
      duration_ms: Date.now() - started,
      uuid: uuid(),
      queued_turn_count: 0,
      result_index: resultIndex++,
      model_usage_since_last_result: {},
    });
    lastIsError = true;
  } else {
    out({
      ...common(false),
      stop_reason: 'end_turn',
      subtype: 'success',
      api_error_status: null,
      result: t.lastText,
      ttft_ms: 1,
      type: 'result',
      duration_ms: Date.now() - started,
      uuid: uuid(),
      ttft_stream_ms: 1,
      time_to_request_ms: 1,
      first_content_frame_ms: 1,
      queued_turn_count: queue.length,
      result_index: resultIndex++,
      model_usage_since_last_result: {},
    });
    lastIsError = false;
  }
  session.turns++;
  session.history.push(text);
  saveSession('claude', sessionId, session);
}

async function pump() {
  if (running) return;
  running = true;
  while (queue.length > 0) await runTurn(queue.shift());
  running = false;
  if (eof) process.exit(lastIsError ? 1 : 0);
}

function onLine(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  if (msg.type === 'user') {
    const c = msg.message?.content;
    const text =
      typeof c === 'string'
        ? c
        : Array.isArray(c)
          ? c
              .filter((b) => b.type === 'text')
              .map((b) => b.text)
              .join('\n')
          : '';
    queue.push(text);
    void pump();
  } else if (msg.type === 'control_response') {
    const r = msg.response ?? {};
    const resolve = pendingResponses.get(r.request_id);
    if (resolve) {
      pendingResponses.delete(r.request_id);
      resolve(
        r.subtype === 'success'
          ? (r.response ?? {})
          : { behavior: 'deny', message: r.error ?? 'error', error: r.error },
      );
    }
  } else if (msg.type === 'control_request') {
    const sub = msg.request?.subtype;
    if (sub === 'initialize') {
      respond(msg.request_id, {
        commands: [],
        agents: [],
        output_style: 'default',
        available_output_styles: ['default'],
        models: [],
        account: { tokenSource: 'none', apiKeySource: 'none', apiProvider: 'firstParty' },
        pid: process.pid,
        claude_code_version: '2.1.329',
        current_permission_mode: mode,
        session_state: 'idle',
        capabilities: [],
      });
    } else if (sub === 'interrupt') {
      // The real CLI withdraws a pending can_use_tool before it answers the interrupt (fixture 19).
      current?.abort.abort();
      respond(msg.request_id, { still_queued: [] });
    } else if (sub === 'set_permission_mode') {
      mode = msg.request.mode;
      respond(msg.request_id, { mode });
      out({
        type: 'system',
        subtype: 'status',
        status: null,
        permissionMode: mode,
        uuid: uuid(),
        session_id: sessionId,
      });
    } else {
      out({
        type: 'control_response',
        response: {
          subtype: 'error',
          request_id: msg.request_id,
          error: `Unsupported control request subtype: ${sub}`,
        },
      });
    }
  }
  // keep_alive, control_cancel_request and unknown types: ignored.
}

readLines(onLine, () => {
  eof = true;
  if (!running) process.exit(lastIsError ? 1 : 0);
});
