import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notificationsFor, SEEN_LIMIT } from '../../main/desktop/notify-policy';
import { failedThread, prompt, section, snap, thread } from './fixtures';

test('notify: a new thread failure notifies once, with a click to the dashboard', () => {
  const seen = new Set<string>();
  const before = snap({ sections: [section('ses_1', [thread('t1', { state: 'active_turn' })])] });
  assert.deepEqual(notificationsFor(null, before, seen), []);
  const after = snap({ sections: [section('ses_1', [failedThread('t1', '2026-11-21T09:00:00Z')])] });
  const out = notificationsFor(before, after, seen);
  assert.equal(out.length, 1);
  assert.equal(out[0].title, 'Thread failed: t1');
  assert.match(out[0].body, /AGENT_CRASHED/);
  assert.deepEqual(out[0].onClick, { channel: 'window:open', input: { view: 'dashboard' } });
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
