/**
 * The fakes against the real CLIs: each fixture's driver stdin lines are replayed into the fake (with a
 * scenario scripted like the capture's mock model), and
 *  - every line the fake prints has the same keys, in the same order, as the real line of that kind;
 *  - the sequence of line kinds equals the fixture's (kinds the fake never prints, like thinking_tokens or
 *    rateLimits, left out on both sides);
 *  - the exit code matches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineSplitter } from '../../main/core/agents/process';
import { tempDir, waitFor } from '../support/process';
import { FAKE } from './helpers';
import { FIXTURES, loadFixture, type FixtureRecord } from './replay';

/** Fixture lines are walked generically; their shapes are what this test checks. */
type Msg = Record<string, any>;

/** The kind of a line, fine enough that lines of one kind share one shape. */
function kindOf(m: Msg): string {
  if (m.method !== undefined) {
    let k = m.method as string;
    if (m.id !== undefined) k += ' (request)';
    if ((k === 'item/started' || k === 'item/completed') && m.params?.item) k += `/${m.params.item.type}`;
    return k;
  }
  if (m.type === undefined)
    return m.error ? 'response/error' : `response/${Object.keys(m.result ?? {}).join('+') || 'empty'}`;
  let k = m.type as string;
  if (m.subtype !== undefined) k += `/${m.subtype}`;
  if (m.request?.subtype) k += `/${m.request.subtype}`;
  if (m.response?.subtype) k += `/${m.response.subtype}`;
  if (Array.isArray(m.message?.content)) k += `/${m.message.content.map((b: Msg) => b.type).join(',')}`;
  if (m.message?.model === '<synthetic>') k += '/synthetic';
  if (m.type === 'result') k += `/${m.terminal_reason ?? 'none'}`;
  return k;
}

/** Key order of the line and of the nested objects that carry the payload. */
function shapeOf(m: Msg): string {
  const nested = ['message', 'request', 'response', 'params', 'result'].filter(
    (k) => m[k] && typeof m[k] === 'object' && !Array.isArray(m[k]),
  );
  const parts = [Object.keys(m).join(',')];
  for (const k of nested) parts.push(`${k}:${Object.keys(m[k]).join(',')}`);
  if (m.params?.item) parts.push(`item:${Object.keys(m.params.item).join(',')}`);
  if (m.params?.turn) parts.push(`turn:${Object.keys(m.params.turn).join(',')}`);
  if (m.result?.thread) parts.push(`thread:${Object.keys(m.result.thread).join(',')}`);
  if (m.result?.turn) parts.push(`turn:${Object.keys(m.result.turn).join(',')}`);
  return parts.join(' | ');
}

/** Every shape the real CLIs printed, by kind (over all fixtures of that agent). */
function realShapes(agent: 'claude' | 'codex'): Map<string, Set<string>> {
  const shapes = new Map<string, Set<string>>();
  for (const f of readdirSync(join(FIXTURES, agent)).filter((n) => !n.startsWith('exec-'))) {
    for (const r of loadFixture(`${agent}/${f}`)) {
      if (r.dir !== 'stdout') continue;
      const k = kindOf(r.msg!);
      if (!shapes.has(k)) shapes.set(k, new Set());
      shapes.get(k)!.add(shapeOf(r.msg!));
    }
  }
  return shapes;
}

interface Run {
  lines: Msg[];
  exit: Promise<number | null>;
  write(m: unknown): void;
  end(): void;
}

function runFake(agent: 'claude' | 'codex', args: string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const child = spawn(agent === 'claude' ? FAKE.claude_code : FAKE.codex, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Msg[] = [];
  const splitter = new LineSplitter((l) => lines.push(JSON.parse(l)));
  child.stdout.on('data', (d: Buffer) => splitter.push(d));
  child.stdin.on('error', () => undefined);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return {
    lines,
    exit: new Promise((resolve) => child.on('exit', (code) => (clearTimeout(timer), resolve(code)))),
    write: (m) => child.stdin.write(JSON.stringify(m) + '\n'),
    end: () => child.stdin.end(),
  };
}

const BASH_INPUT = { command: 'touch made-by-bash.txt && echo created', description: 'Create a file' };
const COLOR = {
  question: 'Which color do you prefer?',
  header: 'Color',
  multiSelect: false,
  options: [
    { label: 'Red', description: 'Warm color' },
    { label: 'Blue', description: 'Cool color' },
  ],
};
const FINAL = { text: 'Final answer after tool.' };
const SCENARIO = {
  markers: {
    DO_BASH: {
      steps: [
        { thinking: 'The user wants me to run a command. I will use Bash.' },
        { text: 'Running a command now.' },
        { tool: { name: 'Bash', input: BASH_INPUT, output: 'created' } },
        FINAL,
      ],
    },
    DO_WRITE: {
      steps: [
        { text: 'I will write a file.' },
        { tool: { name: 'Write', input: { file_path: '/w/hello.txt', content: 'hello world\n' } } },
        FINAL,
      ],
    },
    DO_ASKQ: { steps: [{ text: 'I need to ask you something.' }, { ask: { questions: [COLOR] } }, FINAL] },
    DO_SLOW: { steps: [{ sleep: 15_000 }, { text: 'slow' }] },
    DO_APIERR: { steps: [{ apiError: { status: 400, message: 'mock bad request' } }] },
    DO_SHELL: {
      steps: [
        { thinking: '**Planning** I should answer.' },
        { command: { command: 'echo x > approved.txt && echo ok', output: 'ok\n' } },
        { text: 'Done. Tool output received.' },
      ],
    },
    DO_PATCH: { steps: [{ patch: {} }, { text: 'Done. Tool output received.' }] },
  },
  default: { steps: [{ thinking: 'Simple greeting.' }, { text: 'Hello!' }] },
};

/** Real line kinds the fakes deliberately do not print (noise for the worker, or not modelled). */
const NOT_MODELLED = new Set([
  'system/thinking_tokens',
  'configWarning',
  'remoteControl/status/changed',
  'account/rateLimits/updated',
  'deprecationNotice',
  'thread/goal/cleared',
]);

interface Case {
  args: string[];
  env?: NodeJS.ProcessEnv;
  scenario?: unknown;
  /** Sessions/threads that must exist before the run (resume fixtures). */
  existing?: Array<[string, unknown]>;
}

const CLAUDE_BASE = [
  '-p',
  '--output-format',
  'stream-json',
  '--input-format',
  'stream-json',
  '--verbose',
  '--model',
  'claude-sonnet-4-5',
];
const STDIO = ['--permission-prompt-tool', 'stdio'];
const isRoot = process.getuid?.() === 0;

const CLAUDE_CASES: Record<string, Case> = {
  '01-text-and-thinking': { args: [] },
  '02-tool-use-permission-allowed': { args: [...STDIO, '--permission-mode', 'default'] },
  '03-tool-use-permission-denied': { args: STDIO },
  '04-no-prompt-tool-auto-denied': { args: [] },
  '05-ask-user-question': { args: STDIO },
  '06-initialize-and-two-turns': { args: STDIO },
  '07-resume-by-id': {
    args: ['--resume', '053720b5-d2c7-4695-8c2a-bdc61c481208'],
    existing: [['claude-053720b5-d2c7-4695-8c2a-bdc61c481208', { turns: 2, history: [] }]],
  },
  '08-resume-unknown-id-error': { args: ['--resume', '99999999-2222-4333-8444-555555555555'] },
  '10-api-error-400': { args: [] },
  '11-interrupt-then-next-turn': { args: STDIO },
  ...(isRoot ? { '13-skip-permissions-as-root-refused': { args: ['--dangerously-skip-permissions'] } } : {}),
  '14-skip-permissions-IS_SANDBOX': { args: ['--dangerously-skip-permissions'], env: { IS_SANDBOX: '1' } },
  '15-fixed-session-id': { args: ['--session-id', '11111111-2222-4333-8444-555555555555'] },
  '16-bypass-plus-stdio-ask-still-prompts': {
    args: ['--permission-mode', 'bypassPermissions', ...STDIO],
    env: { IS_SANDBOX: '1' },
  },
  '17-resume-from-other-cwd': {
    args: ['--resume', '11111111-2222-4333-8444-555555555555'],
    existing: [['claude-11111111-2222-4333-8444-555555555555', { turns: 1, history: [] }]],
  },
};
// Captured with test/support/capture-claude.ts (the real CLI against the scripted mock model).
const TOUCH = (file: string) => ({
  steps: [
    { tool: { name: 'Bash', input: { command: `touch ${file}`, description: 'Create a file' }, output: '' } },
    { text: 'Done.' },
  ],
});
const CAPTURED_SCENARIO = {
  markers: {
    DO_TOUCH: TOUCH('a.txt'),
    DO_OTHER: TOUCH('b.txt'),
    DO_PLAN: {
      steps: [
        { enterPlanMode: true },
        { plan: '# Plan\n\n1. Read f.txt\n2. Edit it' },
        { plan: '# Plan v2\n\n1. Add a test\n2. Edit f.txt' },
        { text: 'Done.' },
      ],
    },
    DO_EDIT: {
      steps: [
        { tool: { name: 'Read', input: { file_path: '/w/f.txt' }, ask: false, output: '1\tone' } },
        { tool: { name: 'Edit', input: { file_path: '/w/f.txt', old_string: 'two', new_string: 'TWO' } } },
        { text: 'Done.' },
      ],
    },
    DO_WRITE: {
      steps: [{ tool: { name: 'Write', input: { file_path: '/w/new.txt', content: 'hello\n' } } }, { text: 'Done.' }],
    },
  },
  default: { steps: [{ text: 'Done.' }] },
};
CLAUDE_CASES['18-always-allow-session-rule'] = {
  args: [...STDIO, '--permission-mode', 'default'],
  scenario: CAPTURED_SCENARIO,
};
CLAUDE_CASES['19-interrupt-during-permission'] = {
  args: [...STDIO, '--permission-mode', 'default'],
  scenario: CAPTURED_SCENARIO,
};
CLAUDE_CASES['20-exit-plan-mode'] = { args: [...STDIO, '--permission-mode', 'default'], scenario: CAPTURED_SCENARIO };
CLAUDE_CASES['21-edit-and-write-approvals'] = {
  args: [...STDIO, '--permission-mode', 'default'],
  scenario: CAPTURED_SCENARIO,
};
// Not replayed into the fake: 09 (--include-partial-messages: the fake prints no stream_event lines) and
// 12 (acceptEdits semantics of set_permission_mode are not modelled).

const OLD_THREAD = '01a1fd0c-d011-7fd0-b27f-e228722f7dc5';
const usage = {
  totalTokens: 110,
  inputTokens: 100,
  cachedInputTokens: 20,
  cacheWriteInputTokens: 0,
  outputTokens: 10,
  reasoningOutputTokens: 4,
};
const CODEX_CASES: Record<string, Case> = {
  'appserver-01-command-and-patch-approved': { args: ['app-server'] },
  'appserver-02-command-declined': { args: ['app-server'] },
  'appserver-03-interrupt': { args: ['app-server'] },
  'appserver-04-thread-resume': {
    args: ['app-server'],
    scenario: {
      default: { steps: [{ thinking: '**Planning** I should answer.' }, { text: 'Hello from mock codex model.' }] },
    },
    existing: [
      [
        `codex-${OLD_THREAD}`,
        {
          id: OLD_THREAD,
          cwd: '/w',
          model: 'gpt-5.5',
          approvalPolicy: 'untrusted',
          sandbox: 'read-only',
          createdAt: 0,
          turns: 2,
          total: usage,
          lastTurnId: '01a1fd0c-d2e4-7f91-8daf-4d9daa08a559',
          lastUsage: usage,
        },
      ],
    ],
  },
  'appserver-05-on-request-escalation': {
    args: ['app-server'],
    scenario: {
      markers: {
        DO_SHELL: {
          steps: [
            { thinking: '**Planning** I should answer.' },
            {
              command: {
                command: 'echo z > escalated.txt && echo done',
                output: 'done\n',
                escalate: true,
                reason: 'Need to write outside sandbox?',
              },
            },
            { text: 'Done. Tool output received.' },
          ],
        },
      },
    },
  },
  'appserver-06-untrusted-workspace-write-patch': { args: ['app-server'] },
  'appserver-07-never-danger-full-access': { args: ['app-server'] },
};

/**
 * Plays the fixture's stdin lines into the fake. Each line waits until the fake has printed as many lines of
 * the kind the real CLI printed just before it. Ids the fake mints (control request ids, thread and turn ids)
 * are substituted into the driver's lines.
 */
async function drive(
  agent: 'claude' | 'codex',
  fixture: string,
  c: Case,
): Promise<{ fake: Msg[]; real: Msg[]; fakeExit: number | null; realExit: number | null }> {
  const records: FixtureRecord[] = loadFixture(`${agent}/${fixture}.jsonl`);
  const tmp = await tempDir('bhw-fakecheck-');
  try {
    const stateDir = join(tmp.path, 'state');
    mkdirSync(stateDir);
    for (const [name, data] of c.existing ?? []) writeFileSync(join(stateDir, `${name}.json`), JSON.stringify(data));
    const scenarioFile = join(tmp.path, 'scenario.json');
    writeFileSync(scenarioFile, JSON.stringify(c.scenario ?? SCENARIO));
    const args = agent === 'claude' ? [...CLAUDE_BASE, ...c.args] : c.args;
    const run = runFake(agent, args, tmp.path, {
      FAKE_AGENT_SCENARIO: scenarioFile,
      FAKE_AGENT_STATE_DIR: stateDir,
      ...c.env,
    });
    const fakeKinds = new Set<string>();
    const real: Msg[] = [];
    const idMap = new Map<string, string>();
    let realExit: number | null = null;
    for (const r of records) {
      if (r.dir === 'stdout') {
        real.push(r.msg!);
        continue;
      }
      if (r.dir === 'exit') realExit = (r as unknown as { code: number | null }).code;
      if (r.dir === 'stdin-eof') run.end();
      if (r.dir !== 'stdin') continue;
      // Wait for the fake to reach the point where the driver spoke.
      for (const m of run.lines) fakeKinds.add(kindOf(m));
      const lastReal = [...real]
        .reverse()
        .find(
          (m) =>
            ['control_request', 'result', 'system'].includes(m.type) ||
            m.id !== undefined ||
            /^(turn|item)\//.test(m.method ?? ''),
        );
      if (lastReal) {
        const kind = kindOf(lastReal);
        const need = real.filter((m) => kindOf(m) === kind).length;
        await waitFor(
          () => run.lines.filter((m) => kindOf(m) === kind).length >= need,
          `${fixture}: fake printing ${kind} #${need}`,
          { timeoutMs: 8_000 },
        ).catch(() => undefined);
      }
      // Learn the fake's ids from the lines that correspond to the real ones.
      const pairs = (pred: (m: Msg) => boolean): Array<[Msg, Msg]> => {
        const a = real.filter(pred);
        const b = run.lines.filter(pred);
        return a.map((m, i) => [m, b[i]] as [Msg, Msg]).filter(([, f]) => f !== undefined);
      };
      for (const [rm, fm] of pairs((m) => m.type === 'control_request')) idMap.set(rm.request_id, fm.request_id);
      for (const [rm, fm] of pairs((m) => m.result?.thread?.id !== undefined))
        idMap.set(rm.result.thread.id, fm.result.thread.id);
      for (const [rm, fm] of pairs((m) => m.result?.turn?.id !== undefined))
        idMap.set(rm.result.turn.id, fm.result.turn.id);
      let text = JSON.stringify(r.msg);
      for (const [from, to] of idMap) text = text.split(from).join(to);
      run.write(JSON.parse(text));
    }
    const fakeExit = await run.exit;
    return { fake: run.lines, real, fakeExit, realExit };
  } finally {
    await tmp.cleanup();
  }
}

for (const [agent, cases] of [
  ['claude', CLAUDE_CASES],
  ['codex', CODEX_CASES],
] as const) {
  const shapes = realShapes(agent);
  for (const [fixture, c] of Object.entries(cases)) {
    test(
      `fake ${agent} replaying ${fixture}: same line shapes, same sequence, same exit code`,
      { timeout: 30_000 },
      async () => {
        const { fake, real, fakeExit, realExit } = await drive(agent, fixture, c);
        const fakeVocabulary = new Set<string>();
        for (const m of fake) {
          const kind = kindOf(m);
          fakeVocabulary.add(kind);
          const known = shapes.get(kind);
          if (!known) {
            assert.fail(`${fixture}: the fake printed a kind the real CLI never printed: ${kind}`);
          }
          assert.ok(
            known.has(shapeOf(m)),
            `${fixture}: shape of ${kind} differs\n fake: ${shapeOf(m)}\n real: ${[...known].join('\n       ')}`,
          );
        }
        const unmodelled = [...new Set(real.map(kindOf))].filter((k) => !fakeVocabulary.has(k) && !NOT_MODELLED.has(k));
        assert.deepEqual(unmodelled, [], `${fixture}: the real CLI printed kinds the fake did not`);
        const seq = (lines: Msg[]): string[] =>
          lines.map(kindOf).filter((k) => fakeVocabulary.has(k) && !k.startsWith('thread/status/changed'));
        assert.deepEqual(seq(fake), seq(real), `${fixture}: sequence of line kinds`);
        assert.equal(fakeExit, realExit, `${fixture}: exit code`);
      },
    );
  }
}
