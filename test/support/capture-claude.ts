/**
 * Records fixtures 18–21 of test/fixtures/agents/claude with the REAL Claude Code CLI against the scripted
 * mock model on 127.0.0.1 (see test/fixtures/agents/README.md for the record format). Run by hand:
 *   node --import tsx test/support/capture-claude.ts
 * Paths are rewritten to /home/user/project and /home/user like the earlier captures; long arrays are trimmed.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineSplitter } from '../../main/core/agents/process';
import { startAnthropicMock, type MockBlock, type MockRequestView } from './anthropic-mock';
import { ROOT, tempDir } from './process';
import { REAL_CLAUDE, realClaudeEnv, realClaudeMissing } from './real-claude';

type Msg = Record<string, unknown>;
type Decide = (request: Msg, write: (m: Msg) => void) => void;

interface Capture {
  name: string;
  turns: string[];
  decide: Decide;
}

const allow =
  (session: boolean): Decide =>
  (m, write) => {
    const r = m.request as Msg;
    const suggestions = Array.isArray(r.permission_suggestions) ? (r.permission_suggestions as Msg[]) : [];
    const rules = suggestions.filter((s) => s.type === 'addRules').map((s) => ({ ...s, destination: 'session' }));
    write({
      type: 'control_response',
      response: {
        subtype: 'success',
        request_id: m.request_id,
        response: {
          behavior: 'allow',
          updatedInput: r.input,
          ...(session && rules.length ? { updatedPermissions: rules } : {}),
        },
      },
    });
  };

/** The model: what it answers, keyed by the marker in the turn's text and the step within the turn. */
function model(wf: string) {
  return (v: MockRequestView): MockBlock[] | null => {
    const t = v.turnText;
    const bash = (command: string, description: string): MockBlock[] => [
      { type: 'tool_use', name: 'Bash', input: { command, description } },
    ];
    const done = (): MockBlock[] => [{ type: 'text', text: `Done: ${v.toolResults[0]?.content.slice(0, 60) ?? ''}` }];
    if (t.includes('DO_TOUCH')) return v.step === 0 ? bash('touch a.txt', 'Create a file') : done();
    if (t.includes('DO_OTHER')) return v.step === 0 ? bash('touch b.txt', 'Create another file') : done();
    if (t.includes('DO_EDIT')) {
      if (v.step === 0) return [{ type: 'tool_use', name: 'Read', input: { file_path: join(wf, 'f.txt') } }];
      if (v.step === 1)
        return [
          {
            type: 'tool_use',
            name: 'Edit',
            input: { file_path: join(wf, 'f.txt'), old_string: 'two', new_string: 'TWO' },
          },
        ];
      return done();
    }
    if (t.includes('DO_WRITE'))
      return v.step === 0
        ? [{ type: 'tool_use', name: 'Write', input: { file_path: join(wf, 'new.txt'), content: 'hello\nworld\n' } }]
        : done();
    if (t.includes('DO_PLAN')) {
      if (v.step === 0) return [{ type: 'tool_use', name: 'EnterPlanMode', input: {} }];
      if (v.step === 1)
        return [{ type: 'tool_use', name: 'ExitPlanMode', input: { plan: '# Plan\n\n1. Read f.txt\n2. Edit it' } }];
      if (v.step === 2 && v.toolResults[0]?.is_error)
        return [
          { type: 'tool_use', name: 'ExitPlanMode', input: { plan: '# Plan v2\n\n1. Add a test\n2. Edit f.txt' } },
        ];
      return done();
    }
    return [{ type: 'text', text: 'Hello.' }];
  };
}

const CAPTURES: Capture[] = [
  { name: '18-always-allow-session-rule', turns: ['DO_TOUCH', 'DO_TOUCH again', 'DO_OTHER'], decide: allow(true) },
  {
    name: '19-interrupt-during-permission',
    turns: ['DO_TOUCH', 'after interrupt'],
    decide: (_m, write) => write({ type: 'control_request', request_id: 'intr_1', request: { subtype: 'interrupt' } }),
  },
  {
    name: '20-exit-plan-mode',
    turns: ['DO_PLAN'],
    decide: (() => {
      let n = 0;
      return (m: Msg, write: (m: Msg) => void) => {
        const r = m.request as Msg;
        if (r.tool_name === 'ExitPlanMode' && n++ === 0) {
          write({
            type: 'control_response',
            response: {
              subtype: 'success',
              request_id: m.request_id,
              response: { behavior: 'deny', message: 'Add a test first' },
            },
          });
          return;
        }
        allow(false)(m, write);
      };
    })(),
  },
  { name: '21-edit-and-write-approvals', turns: ['DO_EDIT', 'DO_WRITE'], decide: allow(true) },
];

function trim(v: unknown): unknown {
  if (Array.isArray(v)) return v.length > 6 ? [...v.slice(0, 4).map(trim), '...TRIMMED...'] : v.map(trim);
  if (v && typeof v === 'object') {
    const o: Msg = {};
    for (const [k, x] of Object.entries(v as Msg)) o[k] = k === 'subagent_stats' ? '...TRIMMED...' : trim(x);
    return o;
  }
  return v;
}

async function captureOne(c: Capture): Promise<void> {
  const tmp = await tempDir('bhw-capture-');
  const wf = join(tmp.path, 'project');
  await mkdir(wf, { recursive: true });
  await writeFile(join(wf, 'f.txt'), 'one\ntwo\n');
  const mock = await startAnthropicMock(model(wf));
  const env = await realClaudeEnv(tmp.path, mock.url);
  const home = env.HOME!;
  const rewrite = (s: string): string => s.split(wf).join('/home/user/project').split(home).join('/home/user');
  const records: string[] = [];
  const rec = (r: Msg): void => void records.push(rewrite(JSON.stringify(trim(r))));
  const args = ['-p', '--output-format', 'stream-json', '--input-format', 'stream-json', '--verbose'];
  args.push('--permission-prompt-tool', 'stdio', '--permission-mode', 'default', '--model', 'claude-sonnet-4-5');
  const child = spawn(REAL_CLAUDE, args, { cwd: wf, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const write = (m: Msg): void => {
    rec({ dir: 'stdin', msg: m });
    child.stdin.write(JSON.stringify(m) + '\n');
  };
  let turn = 0;
  const next = (): void => {
    if (turn < c.turns.length) {
      write({
        type: 'user',
        message: { role: 'user', content: c.turns[turn++] },
        parent_tool_use_id: null,
        session_id: '',
      });
    } else {
      rec({ dir: 'stdin-eof' });
      child.stdin.end();
    }
  };
  const splitter = new LineSplitter((line) => {
    const m = JSON.parse(line) as Msg;
    rec({ dir: 'stdout', msg: m });
    if (m.type === 'control_request' && (m.request as Msg).subtype === 'can_use_tool') c.decide(m, write);
    if (m.type === 'result') next();
  });
  child.stdout.on('data', (d: Buffer) => splitter.push(d));
  child.stderr.on('data', (d: Buffer) => rec({ dir: 'stderr', text: String(d) }));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const exit = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      rec({ dir: 'exit', code, signal });
      resolve();
    }),
  );
  next();
  await exit;
  await mock.close();
  writeFileSync(join(ROOT, 'test/fixtures/agents/claude', `${c.name}.jsonl`), records.join('\n') + '\n');
  await tmp.cleanup();
  console.log(`captured ${c.name} (${records.length} records)`);
}

const missing = realClaudeMissing();
if (missing) {
  console.error(missing);
  process.exit(1);
}
for (const c of CAPTURES) await captureOne(c);
