import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createNotificationCenter,
  notificationsFor,
  SEEN_LIMIT,
  type DesktopNotification,
} from '../../main/desktop/notify-policy';
import { failedThread, prompt, section, snap, thread } from './fixtures';

test("notify: a new thread failure notifies once, with a click to that thread's view", () => {
  const seen = new Set<string>();
  const before = snap({ sections: [section('ses_1', [thread('t1', { state: 'active_turn' })])] });
  assert.deepEqual(notificationsFor(null, before, seen), []);
  const after = snap({ sections: [section('ses_1', [failedThread('t1', '2026-11-21T09:00:00Z')])] });
  const out = notificationsFor(before, after, seen);
  assert.equal(out.length, 1);
  assert.equal(out[0].title, 'Thread failed: t1');
  assert.match(out[0].body, /AGENT_CRASHED/);
  assert.deepEqual(out[0].onClick, {
    channel: 'window:open',
    input: { view: 'thread', sectionId: 'session_agent_harness-ses_1', alias: 't1' },
  });
  // The same failure in later snapshots: nothing.
  assert.deepEqual(notificationsFor(after, after, seen), []);
  assert.deepEqual(notificationsFor(after, snap({ ...after, updated_at: 'later' }), seen), []);
});

test('notify: the same thread failing again later (new error.at) notifies again', () => {
  const seen = new Set<string>();
  const first = snap({ sections: [section('ses_1', [failedThread('t1', 'T1')])] });
  notificationsFor(snap(), first, seen);
  const again = snap({ sections: [section('ses_1', [failedThread('t1', 'T2')])] });
  assert.equal(notificationsFor(first, again, seen).length, 1);
});

test('notify: failures already there at app start are not announced; prompts are', () => {
  const seen = new Set<string>();
  const initial = snap({ sections: [section('ses_1', [failedThread('old')])], prompts: [prompt('pr_1')] });
  const out = notificationsFor(null, initial, seen);
  assert.deepEqual(
    out.map((n) => n.key),
    ['prompt:pr_1'],
  );
  assert.deepEqual(notificationsFor(initial, initial, seen), []);
});

test('notify: a new pending prompt notifies once and clicks through to its window', () => {
  const seen = new Set<string>();
  const s0 = snap();
  notificationsFor(null, s0, seen);
  const s1 = snap({
    prompts: [
      prompt('pr_A', {
        kind: 'ask_user_question',
        thread: 'feature',
        payload: {
          questions: [
            { question: 'Which DB?', multi_select: false, options: [] },
            { question: 'Why?', multi_select: false, options: [] },
          ],
        },
      }),
    ],
  });
  const out = notificationsFor(s0, s1, seen);
  assert.equal(out.length, 1);
  assert.equal(out[0].title, 'Input needed: feature');
  assert.equal(out[0].body, 'Which DB? (+1 more)');
  assert.deepEqual(out[0].onClick, { channel: 'window:open', input: { view: 'prompt', promptId: 'pr_A' } });
  // Still open, answered (gone), and even if it reappeared in a later snapshot: never again.
  assert.deepEqual(notificationsFor(s1, s1, seen), []);
  assert.deepEqual(notificationsFor(s1, s0, seen), []);
  assert.deepEqual(notificationsFor(s0, s1, seen), []);
  const s2 = snap({ prompts: [...s1.prompts, prompt('pr_B')] });
  assert.deepEqual(
    notificationsFor(s1, s2, seen).map((n) => n.key),
    ['prompt:pr_B'],
  );
});

test('notify: the memory of seen keys stays bounded', () => {
  const seen = new Set<string>();
  for (let i = 0; i < SEEN_LIMIT + 50; i++) seen.add(`k${i}`);
  notificationsFor(null, snap({ prompts: [prompt('pr_new')] }), seen);
  assert.equal(seen.size, SEEN_LIMIT);
  assert.ok(seen.has('prompt:pr_new'));
  assert.ok(!seen.has('k0'));
});

const SECTION = 'session_agent_harness-ses_1';
const withTurns = (alias: string, turns: number, over = {}) =>
  thread(alias, {
    state: 'active_idle',
    stats: { turns, input_tokens: 0, cached_tokens: 0, output_tokens: 0, agent_ms: 0 },
    ...over,
  });

test('notify: nothing about the thread the focused view shows (remembered, so it does not pop up later)', () => {
  const seen = new Set<string>();
  const focused = { focusedThread: { sectionId: SECTION, alias: 'main' }, notifyTurnFinished: true };
  const before = snap({ sections: [section('ses_1', [withTurns('main', 0), withTurns('other', 0)])] });
  notificationsFor(null, before, seen, focused);
  const after = snap({
    sections: [section('ses_1', [failedThread('main', 'T1'), withTurns('other', 0)])],
    prompts: [prompt('pr_9', { thread: 'main' }), prompt('pr_8', { thread: 'other' })],
  });
  assert.deepEqual(
    notificationsFor(before, after, seen, focused).map((n) => n.key),
    ['prompt:pr_8'],
    'only the other thread',
  );
  // Focus moves away: the failure and the prompt were already seen, they do not arrive late.
  assert.deepEqual(notificationsFor(after, after, seen, { focusedThread: null, notifyTurnFinished: true }), []);
  // A thread of the same alias in another section is another thread.
  const elsewhere = {
    focusedThread: { sectionId: 'session_agent_harness-ses_2', alias: 'main' },
    notifyTurnFinished: false,
  };
  const later = snap({ sections: [section('ses_1', [failedThread('main', 'T2')])] });
  assert.equal(notificationsFor(after, later, seen, elsewhere).length, 1);
});

test('notify: "turn finished" only when switched on, once per turn, click opens the thread', () => {
  const seen = new Set<string>();
  const on = { focusedThread: null, notifyTurnFinished: true };
  const off = { focusedThread: null, notifyTurnFinished: false };
  const t0 = snap({ sections: [section('ses_1', [withTurns('main', 2)])] });
  const t1 = snap({ sections: [section('ses_1', [withTurns('main', 3)])] });
  const t2 = snap({ sections: [section('ses_1', [withTurns('main', 4)])] });
  assert.deepEqual(notificationsFor(null, t0, seen, on), [], 'the first look announces no old turns');
  assert.deepEqual(notificationsFor(t0, t1, seen), [], 'off by default');
  assert.deepEqual(notificationsFor(t0, t1, seen, off), []);
  const out = notificationsFor(t1, t2, seen, on);
  assert.equal(out.length, 1);
  assert.equal(out[0].title, 'Turn finished: main');
  assert.match(out[0].body, /4 turns so far/);
  assert.deepEqual(out[0].onClick, {
    channel: 'window:open',
    input: { view: 'thread', sectionId: SECTION, alias: 'main' },
  });
  assert.deepEqual(notificationsFor(t2, t2, seen, on), []);
});

test('notify: the centre asks for focus and preferences on every change and shows what is due', () => {
  const shown: DesktopNotification[] = [];
  let turnNotices = false;
  const center = createNotificationCenter({
    preferences: () => ({ notifyTurnFinished: turnNotices }),
    focusedThread: () => null,
    show: (n) => shown.push(n),
  });
  const t0 = snap({ sections: [section('ses_1', [withTurns('main', 1)])] });
  const t1 = snap({ sections: [section('ses_1', [withTurns('main', 2)])] });
  const t2 = snap({ sections: [section('ses_1', [withTurns('main', 3)])] });
  center(null, t0);
  center(t0, t1);
  assert.equal(shown.length, 0);
  turnNotices = true;
  center(t1, t2);
  assert.deepEqual(
    shown.map((n) => n.key),
    [`turn:${SECTION}:main:3`],
  );
});
