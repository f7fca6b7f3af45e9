/**
 * The terminal dashboard's pure parts (main/cli/tui): the view model built from a Snapshot (rows, colours,
 * selection, the errors ribbon, the 80×24 layout budget), the key reducer (keys → actions), the prompt answer
 * forms and the thread.log transcript reader.
 */
import { zeroStats } from '../../main/core/transcript/schema';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptySnapshot, type Snapshot, type SnapshotThread } from '../../main/core/snapshot';
import {
  buildDashboard,
  columnsFor,
  fit,
  moveSelection,
  ribbonEntries,
  HEADER_LINES,
  FOOTER_LINES,
  RIBBON_CHROME,
  type DashboardView,
} from '../../main/cli/tui/view-model';
import {
  footerText,
  handleKey,
  initialUiState,
  onSnapshot,
  type Capabilities,
  type UiState,
} from '../../main/cli/tui/keys';
import {
  formKey,
  formLines,
  openAnswerForm,
  readQuestionAnswer,
  type AnswerForm,
} from '../../main/cli/tui/answer-form';
import { entryLines, mergeEntries, visibleWindow } from '../../main/cli/tui/transcript';
import type { TranscriptEntry } from '../../main/core/transcript';
import { deferredSink, lineFileSink, workerLogPath } from '../../main/cli/tui/log-file';
import { createLogger } from '../../main/core/log';
import { tempDir } from '../support/process';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const NOW = new Date('2026-06-01T12:00:00Z');
const CAPS: Capabilities = { interrupt: false, sessionScope: false };

function thread(alias: string, state: SnapshotThread['state'], extra: Partial<SnapshotThread> = {}): SnapshotThread {
  return {
    alias,
    state,
    agent_type: 'claude_code',
    agent_session_id: `sess-${alias}`,
    work_folder: '/repo',
    model: 'sonnet',
    effort: 'high',
    permissions: 'approval',
    last_event: { kind: 'text', at: '2026-06-01T11:59:48Z' },
    last_error: null,
    open_prompt_id: null,
    granted_rules: [],
    thread_log: `/home/jobs/x/threads/${alias}/logs/thread.log`,
    stats: zeroStats(),
    ...extra,
  };
}

function snap(sections: Array<{ name: string; threads: SnapshotThread[] }>, extra: Partial<Snapshot> = {}): Snapshot {
  return {
    ...emptySnapshot('/home/state', '0.1.0', 4),
    phase: 'running',
    instance_id: 'ins_01TEST',
    identity: { user_id: 'usr_1', name: 'Worker Bot', email: null, api_url: 'http://127.0.0.1:1/v1' },
    agents: { busy: 1, max: 4 },
    sections: sections.map((s, i) => ({
      id: `session_agent_harness-ses_${i}`,
      name: s.name,
      session: { org_id: 'o', blob_id: 'b', revision_id: 'r', session_id: `ses_${i}` },
      attachment: 'attached' as const,
      error: null,
      stats: zeroStats(),
      realtime: 'connected' as const,
      threads: s.threads,
    })),
    ...extra,
  };
}

/** Lines the ink tree will draw for this view: header, panels, ribbon box, footer. */
function frameHeight(v: DashboardView): number {
  const ribbon = v.ribbonLines ? RIBBON_CHROME + v.ribbonLines : 0;
  return HEADER_LINES + v.panels.reduce((n, p) => n + p.height, 0) + ribbon + FOOTER_LINES;
}

test('header, panel title, rows with state colours and the model line', () => {
  const s = snap([
    {
      name: 'main',
      threads: [
        thread('t1', 'active_turn'),
        thread('t2', 'pending', { agent_session_id: null, last_event: null }),
        thread('t3', 'completed'),
        thread('t4', 'failed', {
          last_error: { code: 'AGENT_CRASHED', message: 'exit 3', at: '2026-06-01T11:59:00Z' },
        }),
      ],
    },
  ]);
  const v = buildDashboard(
    s,
    { sectionId: 'session_agent_harness-ses_0', alias: 't1' },
    { columns: 80, rows: 24 },
    NOW,
  );
  assert.equal(v.header.title, 'BlobHub Worker 0.1.0');
  assert.equal(v.header.user, 'Worker Bot');
  assert.equal(v.header.agents, '1/4 agents');
  assert.match(v.header.instance, /ins_01TEST/);
  assert.match(v.header.clock, /^\d\d:\d\d:\d\d$/);
  assert.equal(v.panels.length, 1);
  const p = v.panels[0];
  assert.equal(p.title, 'session_agent_harness · main');
  assert.equal(p.status, 'attached · realtime connected');
  assert.deepEqual(
    p.rows.map((r) => [r.key.alias, r.stateLabel, r.tone.color ?? (r.tone.dim ? 'dim' : '')]),
    [
      ['t1', 'active (turn)', 'green'],
      ['t2', 'pending', 'yellow'],
      ['t3', 'completed', 'dim'],
      ['t4', 'failed', 'red'],
    ],
  );
  assert.deepEqual(
    p.rows.map((r) => r.selected),
    [true, false, false, false],
  );
  assert.equal(p.rows[0].detail, '└ sonnet · high · approval');
  assert.equal(p.rows[0].lastEvent, 'text · 12s ago');
  assert.equal(p.rows[1].session, '—');
  assert.equal(p.rows[1].lastEvent, '—');
  assert.equal(p.rows[3].lastEvent, 'AGENT_CRASHED: exit 3');
  assert.ok(frameHeight(v) <= 23, `frame ${frameHeight(v)} lines fits 24 rows`);
});

test('columns fit 80 and grow with the terminal; fit() cuts with an ellipsis', () => {
  const c80 = columnsFor(80);
  assert.equal(c80.marker + c80.thread + c80.state + c80.agent + c80.session + c80.lastEvent, 76);
  const c160 = columnsFor(160);
  assert.ok(c160.session > c80.session && c160.lastEvent > c80.lastEvent);
  assert.equal(fit('abcdef', 4), 'abc…');
  assert.equal(fit('ab', 4), 'ab  ');
});

test('the layout always fits the terminal, scrolls the selected thread into view and says what is hidden', () => {
  const threads = Array.from({ length: 20 }, (_, i) => thread(`t${i}`, 'pending'));
  const s = snap([
    { name: 'a', threads },
    { name: 'b', threads: [thread('b1', 'active_idle'), thread('b2', 'completed')] },
  ]);
  for (const rows of [24, 30, 12, 50]) {
    for (const alias of ['t0', 't19', 'b2']) {
      const section = alias.startsWith('b') ? 'session_agent_harness-ses_1' : 'session_agent_harness-ses_0';
      const v = buildDashboard(s, { sectionId: section, alias }, { columns: 80, rows }, NOW);
      assert.ok(frameHeight(v) <= rows - 1, `rows=${rows} sel=${alias}: ${frameHeight(v)} lines`);
      const visible = v.panels.flatMap((p) => p.rows.map((r) => r.key.alias));
      assert.ok(visible.includes(alias), `rows=${rows}: the selected ${alias} is visible (${visible.join(',')})`);
    }
  }
  const v = buildDashboard(
    s,
    { sectionId: 'session_agent_harness-ses_0', alias: 't19' },
    { columns: 80, rows: 24 },
    NOW,
  );
  const a = v.panels.find((p) => p.title.endsWith('· a'))!;
  assert.ok(a.hiddenAbove > 0 && a.hiddenBelow === 0);
  assert.equal(a.hiddenAbove + a.rows.length, 20);
});

test('the selection moves across panels and survives a thread disappearing', () => {
  const s = snap([
    { name: 'a', threads: [thread('a1', 'pending'), thread('a2', 'pending')] },
    { name: 'b', threads: [thread('b1', 'pending')] },
  ]);
  let sel = initialUiState(s).selected;
  assert.equal(sel?.alias, 'a1');
  sel = moveSelection(s, sel, 1);
  sel = moveSelection(s, sel, 1);
  assert.deepEqual(sel, { sectionId: 'session_agent_harness-ses_1', alias: 'b1' });
  assert.equal(moveSelection(s, sel, 1)?.alias, 'b1', 'clamped at the last thread');
  assert.equal(moveSelection(s, sel, -5)?.alias, 'a1');
  const gone = snap([
    { name: 'a', threads: [thread('a2', 'pending')] },
    { name: 'b', threads: [] },
  ]);
  const ui = onSnapshot({ selected: sel, mode: { kind: 'dashboard' }, message: null }, gone, 0);
  assert.equal(ui.selected?.alias, 'a2');
});

test('the ribbon merges transient errors, refused sections and failed threads, newest first, bounded', () => {
  const s = snap([
    {
      name: 'main',
      threads: [
        thread('t4', 'failed', {
          last_error: { code: 'AGENT_CRASHED', message: 'exit 3', at: '2026-06-01T11:59:30Z' },
        }),
      ],
    },
  ]);
  s.recent_errors = [
    {
      code: 'API_TRANSIENT_ERROR',
      message: '503 from the API',
      at: '2026-06-01T11:58:00Z',
      section: 'ses_0',
      thread: null,
    },
    { code: 'API_RATE_LIMITED', message: '429', at: '2026-06-01T11:59:50Z', section: null, thread: null },
  ];
  s.sections.push({
    ...s.sections[0],
    id: 'session_agent_harness-ses_9',
    name: 'other',
    session: { ...s.sections[0].session, session_id: 'ses_9' },
    attachment: 'refused',
    error: { code: 'SESSION_ALREADY_ATTACHED', message: 'another worker', at: '2026-06-01T11:57:00Z' },
    threads: [],
  });
  const all = ribbonEntries(s, 10);
  assert.deepEqual(
    all.map((e) => [e.code, e.where, e.tone.color]),
    [
      ['API_RATE_LIMITED', 'worker', 'yellow'],
      ['AGENT_CRASHED', 'main/t4', 'red'],
      ['API_TRANSIENT_ERROR', 'main', 'yellow'],
      ['SESSION_ALREADY_ATTACHED', 'other', 'red'],
    ],
  );
  assert.equal(ribbonEntries(s).length, 3, 'at most three by default');
  const v = buildDashboard(s, null, { columns: 80, rows: 24 }, NOW);
  assert.equal(v.panels[1].status, 'refused: SESSION_ALREADY_ATTACHED');
  assert.ok(frameHeight(v) <= 23);
});

test('keys: q quits, r confirms then resets, s needs the capability and a running turn', () => {
  const s = snap([
    { name: 'm', threads: [thread('t1', 'failed'), thread('t2', 'active_turn'), thread('t3', 'active_idle')] },
  ]);
  const ui = initialUiState(s);
  assert.deepEqual(handleKey(ui, { input: 'q' }, s, CAPS, 0).actions, [{ type: 'quit' }]);
  assert.deepEqual(handleKey(ui, { input: 'c', ctrl: true }, s, CAPS, 0).actions, [{ type: 'quit' }]);

  const asked = handleKey(ui, { input: 'r' }, s, CAPS, 0);
  assert.equal(asked.state.mode.kind, 'confirm_reset');
  assert.deepEqual(asked.actions, []);
  assert.match(footerText(asked.state, CAPS, 0).text, /reset t1 to pending\?/);
  const yes = handleKey(asked.state, { input: 'y' }, s, CAPS, 0);
  assert.deepEqual(yes.actions, [{ type: 'reset', key: { sectionId: 'session_agent_harness-ses_0', alias: 't1' } }]);
  const no = handleKey(asked.state, { input: 'x' }, s, CAPS, 0);
  assert.deepEqual(no.actions, []);
  assert.equal(no.state.mode.kind, 'dashboard');

  const onActive = handleKey(
    handleKey(ui, { input: '', downArrow: true }, s, CAPS, 0).state,
    { input: 'r' },
    s,
    CAPS,
    5,
  );
  assert.deepEqual(onActive.actions, []);
  assert.match(onActive.state.message!.text, /only failed or completed threads can be reset \(t2 is active_turn\)/);

  const t2: UiState = { ...ui, selected: { sectionId: 'session_agent_harness-ses_0', alias: 't2' } };
  const noStop = handleKey(t2, { input: 's' }, s, CAPS, 0);
  assert.equal(noStop.state.message?.text, 'stop not available in this worker version');
  const stop = handleKey(t2, { input: 's' }, s, { ...CAPS, interrupt: true }, 0);
  assert.deepEqual(stop.actions, [{ type: 'interrupt', key: t2.selected }]);
  const t3: UiState = { ...ui, selected: { sectionId: 'session_agent_harness-ses_0', alias: 't3' } };
  assert.match(
    handleKey(t3, { input: 's' }, s, { ...CAPS, interrupt: true }, 0).state.message!.text,
    /not running a turn/,
  );
  assert.doesNotMatch(footerText(ui, CAPS, 0).text, /s stop/);
  assert.match(footerText(ui, { ...CAPS, interrupt: true }, 0).text, /s stop/);
});

test('keys: Enter opens the transcript, which scrolls and closes with Esc', () => {
  const s = snap([{ name: 'm', threads: [thread('t1', 'active_idle')] }]);
  const open = handleKey(initialUiState(s), { input: '', return: true }, s, CAPS, 0).state;
  assert.deepEqual(open.mode, {
    kind: 'transcript',
    key: { sectionId: 'session_agent_harness-ses_0', alias: 't1' },
    scroll: 0,
  });
  const up = handleKey(open, { input: '', upArrow: true }, s, CAPS, 0).state;
  assert.equal(up.mode.kind === 'transcript' && up.mode.scroll, 1);
  const end = handleKey(up, { input: '', end: true }, s, CAPS, 0).state;
  assert.equal(end.mode.kind === 'transcript' && end.mode.scroll, 0);
  assert.equal(handleKey(open, { input: '', escape: true }, s, CAPS, 0).state.mode.kind, 'dashboard');
  const w = visibleWindow([1, 2, 3, 4, 5, 6], 3, 0);
  assert.deepEqual(w.lines, [4, 5, 6]);
  assert.deepEqual(visibleWindow([1, 2, 3, 4, 5, 6], 3, 99).lines, [1, 2, 3], 'scroll clamped at the top');
});

function withPrompt(payload: Record<string, unknown>): { s: Snapshot; ui: UiState } {
  const s = snap([{ name: 'm', threads: [thread('job', 'active_turn', { open_prompt_id: 'pr_1' })] }]);
  s.prompts = [
    {
      id: 'pr_1',
      section: 'session_agent_harness-ses_0',
      session_id: 'ses_0',
      thread: 'job',
      kind: payload.kind as 'approval',
      created_at: null,
      payload,
    },
  ];
  return { s, ui: initialUiState(s) };
}

const type = (form: AnswerForm, text: string): AnswerForm => {
  let f = form;
  for (const ch of text) {
    const step = formKey(f, { input: ch });
    assert.equal(step.type, 'editing');
    if (step.type === 'editing') f = step.form;
  }
  return f;
};

test('a: approval once, deny with a message; Esc cancels', () => {
  const { s, ui } = withPrompt({
    id: 'pr_1',
    kind: 'approval',
    tool: { name: 'Bash', invocation_id: 'x', input: { command: 'rm -rf build' } },
    session_rules: ['Bash(rm:*)'],
  });
  const opened = handleKey(ui, { input: 'a' }, s, CAPS, 0).state;
  assert.equal(opened.mode.kind, 'answer');
  if (opened.mode.kind !== 'answer') return;
  assert.equal(opened.mode.form.kind === 'approval' && opened.mode.form.summary, 'rm -rf build');
  const once = handleKey(opened, { input: '1' }, s, CAPS, 0);
  assert.deepEqual(once.actions, [
    {
      type: 'answer',
      key: { sectionId: 'session_agent_harness-ses_0', alias: 'job' },
      promptId: 'pr_1',
      answer: { kind: 'approval', decision: 'allow', scope: 'once' },
      description: 'allowed once',
    },
  ]);
  // "2" (for this session) is offered only when the core takes the scope.
  assert.deepEqual(handleKey(opened, { input: '2' }, s, CAPS, 0).actions, []);
  const scoped = handleKey(ui, { input: 'a' }, s, { ...CAPS, sessionScope: true }, 0).state;
  assert.ok(scoped.mode.kind === 'answer');
  assert.deepEqual(
    formLines(scoped.mode.form).body.filter((l) => l.startsWith('2')),
    ['2  allow for this session (Bash(rm:*))'],
  );
  const session = handleKey(scoped, { input: '2' }, s, CAPS, 0).actions[0];
  assert.deepEqual(session.type === 'answer' && session.answer, {
    kind: 'approval',
    decision: 'allow',
    scope: 'session',
  });
  let st = handleKey(opened, { input: '3' }, s, CAPS, 0).state;
  for (const ch of 'not now') st = handleKey(st, { input: ch }, s, CAPS, 0).state;
  st = handleKey(st, { input: '', backspace: true }, s, CAPS, 0).state;
  const denied = handleKey(st, { input: '', return: true }, s, CAPS, 0);
  assert.deepEqual(denied.actions[0].type === 'answer' && denied.actions[0].answer, {
    kind: 'approval',
    decision: 'deny',
    message: 'not no',
  });
  assert.equal(handleKey(opened, { input: '', escape: true }, s, CAPS, 0).state.mode.kind, 'dashboard');
  // The prompt answered in the thread meanwhile: the form closes.
  const after = onSnapshot(opened, { ...s, prompts: [] }, 0);
  assert.equal(after.mode.kind, 'dashboard');
  assert.match(after.message!.text, /answered or withdrawn/);
});

test('a: two questions by number and label, multi-select, free text; a text prompt', () => {
  const questions = [
    {
      question: 'Which target?',
      header: 'Target',
      multi_select: false,
      options: [{ label: 'staging' }, { label: 'production' }],
    },
    {
      question: 'Which checks?',
      multi_select: true,
      options: [{ label: 'lint' }, { label: 'test' }, { label: 'bench' }],
    },
  ];
  const { s } = withPrompt({ id: 'pr_1', kind: 'ask_user_question', questions });
  const form = openAnswerForm(s.prompts[0], 'sec', { allowSession: false });
  assert.ok(!('error' in form));
  let f = type(form, '2');
  let step = formKey(f, { input: '', return: true });
  assert.equal(step.type, 'editing');
  if (step.type !== 'editing') return;
  f = type(step.form, '1,3');
  step = formKey(f, { input: '', return: true });
  assert.equal(step.type, 'answer');
  assert.deepEqual(step.type === 'answer' && step.answer, {
    kind: 'ask_user_question',
    answers: { 'Which target?': 'production', 'Which checks?': 'lint, bench' },
  });
  assert.equal(readQuestionAnswer(questions[0], 'Staging'), 'staging');
  assert.equal(readQuestionAnswer(questions[0], 'somewhere else'), 'somewhere else');
  assert.equal(formKey(form, { input: '', return: true }).type, 'editing', 'an empty answer is not sent');

  const text = openAnswerForm({ ...s.prompts[0], kind: 'text', payload: { kind: 'text', question: 'Name?' } }, 'sec', {
    allowSession: false,
  });
  const t = type(text as AnswerForm, 'Ada');
  const done = formKey(t, { input: '', return: true });
  assert.deepEqual(done.type === 'answer' && done.answer, { kind: 'text', text: 'Ada' });
  const bad = openAnswerForm({ ...s.prompts[0], payload: { kind: 'approval' } }, 'sec', { allowSession: false });
  assert.ok('error' in bad);
});

test('a: a plan (ExitPlanMode) is approved or denied, without the session choice', () => {
  const { s, ui } = withPrompt({
    id: 'pr_1',
    kind: 'plan',
    plan: '1. read the code\n2. fix the bug',
    tool: { name: 'ExitPlanMode', invocation_id: 'x', input: {} },
  });
  const opened = handleKey(ui, { input: 'a' }, s, { ...CAPS, sessionScope: true }, 0).state;
  assert.ok(opened.mode.kind === 'answer');
  const lines = formLines(opened.mode.form);
  assert.equal(lines.title, 'plan to approve · job');
  assert.deepEqual(lines.body, [
    '1. read the code',
    '1  approve the plan',
    '3  deny (with an optional message)',
    '2. fix the bug',
  ]);
  const approved = handleKey(opened, { input: 'y' }, s, CAPS, 0).actions[0];
  assert.deepEqual(approved.type === 'answer' && [approved.answer, approved.description], [
    { kind: 'approval', decision: 'allow', scope: 'once' },
    'plan approved',
  ]);
});

test('a on a thread without an open prompt says so', () => {
  const s = snap([{ name: 'm', threads: [thread('t1', 'active_idle')] }]);
  const r = handleKey(initialUiState(s), { input: 'a' }, s, CAPS, 0);
  assert.equal(r.state.mode.kind, 'dashboard');
  assert.equal(r.state.message?.text, 't1 has no open prompt');
});

test('transcript entries become display lines; batches merge by seq', () => {
  const at = '2026-06-01T12:00:00.000Z';
  const entries: TranscriptEntry[] = [
    { seq: 1, at, kind: 'human', text: 'Say hello', truncated: false, items: 1 },
    { seq: 2, at, kind: 'thinking', text: 'Let me think\nabout it', truncated: false, collapsed: true },
    { seq: 3, at, kind: 'text', text: 'Hello!', truncated: false },
    {
      seq: 4,
      at,
      kind: 'tool',
      name: 'Bash',
      invocation_id: 'tu1',
      summary: 'ls',
      input: '{"command":"ls"}',
      status: 'ok',
      output_preview: 'a\nb',
      output_lines: 2,
      output_chars: 3,
      finished_at: at,
    },
    {
      seq: 5,
      at,
      kind: 'prompt',
      prompt_id: 'pr_1',
      prompt_kind: 'approval',
      summary: '❓ Approval needed: Bash → rm\nReply yes…',
      status: 'answered',
      resolution: 'Allowed',
      answered_via: 'desktop',
      resolved_at: at,
    },
    {
      seq: 6,
      at,
      kind: 'turn_end',
      input_tokens: 10,
      cached_tokens: 5,
      output_tokens: 7,
      duration_ms: 2500,
      outcome: 'completed',
      is_error: false,
      totals: { turns: 1, input_tokens: 10, cached_tokens: 5, output_tokens: 7, agent_ms: 2500 },
    },
    { seq: 7, at, kind: 'error', code: 'AGENT_CRASHED', message: 'exit 3' },
  ];
  assert.deepEqual(
    entries.flatMap(entryLines).map((l) => [l.label, l.text]),
    [
      ['you', 'Say hello'],
      ['thinking', 'Let me think …'],
      ['agent', 'Hello!'],
      ['tool', 'Bash → ls'],
      ['', '  a'],
      ['', '  b'],
      ['prompt', '❓ Approval needed: Bash → rm'],
      ['', '  Allowed (via desktop)'],
      ['turn', 'turn done · 10 in / 5 cached / 7 out · 2.5s'],
      ['error', 'AGENT_CRASHED: exit 3'],
    ],
  );
  const running = { ...entries[3], status: 'running', output_preview: null } as TranscriptEntry;
  assert.deepEqual(
    entryLines(running).map((l) => l.text),
    ['Bash → ls · running…'],
  );
  // A changed entry replaces the held one with the same seq; the list stays ordered and bounded.
  const merged = mergeEntries([entries[0], running], [entries[3], entries[4]], 2);
  assert.deepEqual(
    merged.map((e) => [e.seq, e.kind === 'tool' ? e.status : e.kind]),
    [
      [4, 'ok'],
      [5, 'prompt'],
    ],
  );
});

test('worker.jsonl: records held until the instance is known, then one whole line each, rotated like the other logs', async () => {
  const dir = await tempDir('bhw-tui-log-');
  try {
    const held = deferredSink();
    const logger = createLogger({ sinks: [held.sink] });
    logger.warn('config_warning', 'unknown key x');
    const path = workerLogPath(join(dir.path, 'logs'), 'ins_1');
    assert.equal(path, join(dir.path, 'logs', 'ins_1', 'worker.jsonl'));
    const file = lineFileSink(path, { maxBytes: 4096, keep: 2 });
    held.attach(file.sink);
    for (let i = 0; i < 40; i++) logger.info('tick', 'x'.repeat(200), { i });
    file.close();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    assert.ok(
      lines.every((l) => JSON.parse(l) !== null),
      'whole JSON lines',
    );
    assert.equal(JSON.parse(lines.at(-1)!).i, 39, 'the newest record is in the live file');
    assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`) && !existsSync(`${path}.3`), 'rotated, two kept');
    const first = (await readFile(`${path}.2`, 'utf8')).split('\n')[0];
    assert.ok(first.length > 0);
    assert.equal((statSync(path).mode & 0o777).toString(8), '600');
  } finally {
    await dir.cleanup();
  }
});
