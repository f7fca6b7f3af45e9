/**
 * The transcript model: the builder's pairing and totals, the ring's bounds, and the round trip through a real
 * thread.log (ThreadLog appends, interleaved with agent stdio lines, torn lines and huge lines), paged back to
 * the first entry, continued after a "restart".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ThreadLog } from '../../main/core/agents/thread-log';
import type { AgentPrompt } from '../../main/core/agents/types';
import {
  TRANSCRIPT_LIMITS,
  ThreadTranscript,
  TranscriptBuilder,
  TranscriptEntry,
  TranscriptHub,
  TranscriptRing,
  readTranscriptFile,
  scanTail,
  type TranscriptEntry as Entry,
} from '../../main/core/transcript/index';
import { tempDir } from '../support/process';

const AT = '2026-12-04T10:00:00.000Z';
const approval: AgentPrompt = {
  id: 'pr_1',
  kind: 'approval',
  tool: { name: 'Bash', invocation_id: 'tu_9', input: { command: 'rm -rf build' } },
};

test('builder: tool calls pair with their results, prompts with their answers, turn ends add up', () => {
  const b = new TranscriptBuilder();
  const human = b.apply({ type: 'human', text: 'fix the build', items: 2 }, AT);
  assert.deepEqual(human, [{ seq: 1, at: AT, kind: 'human', text: 'fix the build', truncated: false, items: 2 }]);
  assert.equal(b.apply({ type: 'agent', event: { type: 'thinking', text: 'hmm' } }, AT)[0].kind, 'thinking');
  const [call] = b.apply(
    { type: 'agent', event: { type: 'tool_call', name: 'Bash', invocationId: 'tu_1', input: { command: 'npm test' } } },
    AT,
  );
  assert.equal(call.kind === 'tool' && call.status, 'running');
  assert.equal(call.kind === 'tool' && call.summary, 'npm test');
  const output = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n') + '\n';
  const [result] = b.apply(
    { type: 'agent', event: { type: 'tool_result', invocationId: 'tu_1', output, isError: true } },
    '2026-12-04T10:00:05.000Z',
  );
  assert.equal(result.seq, call.seq, 'the result changes the call entry, it does not add one');
  assert.ok(result.kind === 'tool');
  assert.equal(result.status, 'error');
  assert.equal(result.output_lines, 20);
  assert.equal(result.output_preview, 'line 0\nline 1\nline 2\nline 3\nline 4\nline 5\n…');
  assert.equal(result.finished_at, '2026-12-04T10:00:05.000Z');

  const [prompt] = b.apply({ type: 'agent', event: { type: 'prompt', prompt: approval } }, AT);
  assert.ok(prompt.kind === 'prompt' && prompt.status === 'open' && /Approval needed: Bash/.test(prompt.summary));
  const [answered] = b.apply(
    { type: 'prompt_answered', promptId: 'pr_1', answer: { kind: 'approval', decision: 'allow' }, via: 'desktop' },
    AT,
  );
  assert.ok(answered.kind === 'prompt');
  assert.equal(answered.seq, prompt.seq);
  assert.deepEqual([answered.status, answered.resolution, answered.answered_via], ['answered', 'Allowed', 'desktop']);

  // A call still running at the turn end is interrupted; the turn end carries the usage and the totals.
  b.apply({ type: 'agent', event: { type: 'tool_call', name: 'Read', invocationId: 'tu_2', input: {} } }, AT);
  const usage = { input_tokens: 100, input_tokens_cached: 40, output_tokens: 7, duration_ms: 1500 };
  const end = b.apply({ type: 'agent', event: { type: 'turn_end', usage } }, AT);
  assert.deepEqual(
    end.map((e) => e.kind),
    ['tool', 'turn_end'],
  );
  assert.equal(end[0].kind === 'tool' && end[0].status, 'interrupted');
  b.apply({ type: 'agent', event: { type: 'turn_end', usage: { ...usage, outcome: 'interrupted' } } }, AT);
  assert.deepEqual(b.stats, { turns: 2, input_tokens: 200, cached_tokens: 80, output_tokens: 14, agent_ms: 3000 });
  // Every entry the builder makes is valid against the schema the IPC contract uses.
  for (const e of [...human, call, result, prompt, answered, ...end]) TranscriptEntry.parse(e);
});

test('builder: long texts are cut and say so; unknown prompt cancellations become a status line', () => {
  const b = new TranscriptBuilder({
    lastSeq: 41,
    stats: { turns: 3, input_tokens: 1, cached_tokens: 0, output_tokens: 1, agent_ms: 5 },
  });
  const [text] = b.apply({ type: 'agent', event: { type: 'text', text: 'x'.repeat(10_000) } }, AT);
  assert.equal(text.seq, 42, 'numbering continues');
  assert.ok(text.kind === 'text' && text.truncated && text.text.length === TRANSCRIPT_LIMITS.TEXT_MAX_CHARS);
  const [cancel] = b.apply({ type: 'prompt_cancelled', promptId: 'pr_old', reason: 'worker_restart' }, AT);
  assert.deepEqual(cancel, {
    seq: 43,
    at: AT,
    kind: 'status',
    status: 'prompt_cancelled',
    detail: 'worker_restart',
  });
  const failed = b.apply({ type: 'failed', code: 'AGENT_CRASHED', message: 'exit code 1' }, AT);
  assert.deepEqual(failed.at(-1), { seq: 44, at: AT, kind: 'error', code: 'AGENT_CRASHED', message: 'exit code 1' });
});

function text(seq: number, t: string): Entry {
  return { seq, at: AT, kind: 'text', text: t, truncated: false };
}

test('ring: keeps the newest entries within both bounds; replaces by seq; slices before a seq', () => {
  const ring = new TranscriptRing(5, 10_000);
  for (let i = 1; i <= 12; i++) ring.put(text(i, `t${i}`));
  assert.equal(ring.size, 5);
  assert.deepEqual([ring.firstSeq, ring.lastSeq], [8, 12]);
  ring.put(text(10, 'changed'));
  ring.put(text(3, 'gone')); // dropped long ago: nothing happens
  assert.deepEqual(
    ring.slice(undefined, 10).map((e) => (e.kind === 'text' ? e.text : '')),
    ['t8', 't9', 'changed', 't11', 't12'],
  );
  assert.deepEqual(
    ring.slice(11, 2).map((e) => e.seq),
    [9, 10],
  );
  // The character budget: big texts push older entries out before the count does.
  const small = new TranscriptRing(500, 1_000);
  for (let i = 1; i <= 50; i++) small.put(text(i, 'y'.repeat(200)));
  assert.ok(small.size <= 4, `held ${small.size}`);
  assert.ok(small.heldChars <= 1_000);
  assert.equal(small.lastSeq, 50);
});

test('thread.log round trip: page back through every entry (newest versions), continue after a restart', async (t) => {
  const tmp = await tempDir('bhw-transcript-');
  t.after(() => tmp.cleanup());
  const path = join(tmp.path, 'logs', 'thread.log');
  const log = new ThreadLog(path);
  const hub = new TranscriptHub();
  const seen: Entry[][] = [];
  const unsubscribe = hub.subscribe('s/a', (entries) => seen.push(entries));
  const transcript = await ThreadTranscript.open({
    log,
    publish: (e) => hub.publish('s/a', e),
    ring: new TranscriptRing(50, 1_000_000),
  });
  const expected = new Map<number, Entry>();
  const note = (entries: Entry[]) => entries.forEach((e) => expected.set(e.seq, e));
  // 300 tool calls whose results arrive 3 calls later (so update records sit after newer creations), agent
  // stdio lines in between, a torn line, a line too long to be a record, and a turn end every 50 calls.
  for (let i = 0; i < 300; i++) {
    log.append({ src: 'agent', dir: 'stdout', line: JSON.stringify({ type: 'assistant', i }) });
    note(
      transcript.record({
        type: 'agent',
        event: { type: 'tool_call', name: 'Bash', invocationId: `tu_${i}`, input: { command: `step ${i}` } },
      }),
    );
    if (i >= 3)
      note(
        transcript.record({
          type: 'agent',
          event: { type: 'tool_result', invocationId: `tu_${i - 3}`, output: `out ${i - 3}`, isError: false },
        }),
      );
    if (i === 100) log.append({ src: 'agent', dir: 'stdout', line: 'z'.repeat(300_000) });
    if (i % 50 === 49) {
      note(
        transcript.record({
          type: 'agent',
          event: {
            type: 'turn_end',
            usage: { input_tokens: 10, input_tokens_cached: 5, output_tokens: 2, duration_ms: 100 },
          },
        }),
      );
    }
  }
  log.close();
  appendFileSync(path, '{"ts":"x","src":"worker","event":"transcript","entry":{"seq":9\n'); // torn
  assert.equal(transcript.held, 50, 'the ring stays bounded');
  hub.flush();
  assert.ok(seen.length >= 1 && seen.length < 50, `published in ${seen.length} batch(es), not per entry`);
  unsubscribe();

  // Page back from the newest to the very first entry: every seq once, in order, in its newest version.
  const got: Entry[] = [];
  let before: number | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await transcript.page({ limit: 37, ...(before !== undefined ? { before } : {}) });
    got.unshift(...page.entries);
    if (!page.has_more) break;
    before = page.entries[0].seq;
  }
  assert.equal(got.length, expected.size);
  assert.deepEqual(
    got.map((e) => e.seq),
    [...expected.keys()].sort((a, b) => a - b),
  );
  for (const e of got) assert.deepEqual(e, expected.get(e.seq), `seq ${e.seq} is its newest version`);
  const stats = { turns: 6, input_tokens: 60, cached_tokens: 30, output_tokens: 12, agent_ms: 600 };
  assert.deepEqual(transcript.stats, stats);

  // A "restart": numbering and totals continue from thread.log; a stopped worker reads it straight from the file.
  const tail = await scanTail(path);
  assert.deepEqual(tail, { lastSeq: expected.size, stats });
  const again = await ThreadTranscript.open({ log: new ThreadLog(path) });
  const [next] = again.record({ type: 'human', text: 'more', items: 1 });
  assert.equal(next.seq, expected.size + 1);
  const newest = await again.page({ limit: 3 });
  assert.deepEqual(
    newest.entries.map((e) => e.seq),
    [expected.size - 1, expected.size, expected.size + 1],
  );
  const fromFile = await readTranscriptFile(path, { limit: 2 });
  assert.deepEqual(
    fromFile.entries.map((e) => e.seq),
    [expected.size, expected.size + 1],
  );
  assert.deepEqual(fromFile.stats, stats);
  assert.equal(fromFile.has_more, true);
});

test('thread.log reader: a missing file is an empty transcript; foreign and invalid records are skipped', async (t) => {
  const tmp = await tempDir('bhw-transcript-');
  t.after(() => tmp.cleanup());
  const missing = await readTranscriptFile(join(tmp.path, 'nope.log'));
  assert.deepEqual(missing.entries, []);
  assert.equal(missing.has_more, false);
  const path = join(tmp.path, 'thread.log');
  writeFileSync(
    path,
    [
      JSON.stringify({ src: 'worker', event: 'transcript', entry: text(1, 'one') }),
      JSON.stringify({ src: 'agent', event: 'transcript', entry: text(2, 'an agent line that looks like one') }),
      JSON.stringify({ src: 'worker', event: 'transcript', entry: { seq: 3, kind: 'text' } }),
      '',
      JSON.stringify({ src: 'worker', event: 'transcript', entry: text(4, 'four') }),
    ].join('\n'),
  );
  const page = await readTranscriptFile(path);
  assert.deepEqual(
    page.entries.map((e) => e.seq),
    [1, 4],
  );
});

test('thread.log rotation: paging continues into thread.log.1, .2 …; totals found across files', async (t) => {
  const tmp = await tempDir('bhw-transcript-');
  t.after(() => tmp.cleanup());
  const path = join(tmp.path, 'logs', 'thread.log');
  // Small files so 400 calls rotate many times; keep enough of them that nothing is deleted.
  const log = new ThreadLog(path, { rotation: { maxBytes: 16_384, keep: 60 } });
  const transcript = await ThreadTranscript.open({ log, ring: new TranscriptRing(10, 1_000_000) });
  const expected = new Map<number, Entry>();
  for (let i = 0; i < 400; i++) {
    for (const e of transcript.record({
      type: 'agent',
      event: { type: 'tool_call', name: 'Read', invocationId: `tu_${i}`, input: { file_path: `/src/f${i}.ts` } },
    }))
      expected.set(e.seq, e);
    if (i >= 2)
      for (const e of transcript.record({
        type: 'agent',
        event: { type: 'tool_result', invocationId: `tu_${i - 2}`, output: 'x'.repeat(50), isError: false },
      }))
        expected.set(e.seq, e);
    if (i === 10)
      for (const e of transcript.record({
        type: 'agent',
        event: {
          type: 'turn_end',
          usage: { input_tokens: 5, input_tokens_cached: 1, output_tokens: 1, duration_ms: 9 },
        },
      }))
        expected.set(e.seq, e);
  }
  log.close();
  assert.ok(existsSync(`${path}.3`), 'the log rotated several times');
  const got: Entry[] = [];
  let before: number | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await transcript.page({ limit: 45, ...(before !== undefined ? { before } : {}) });
    got.unshift(...page.entries);
    if (!page.has_more) break;
    before = page.entries[0].seq;
  }
  assert.deepEqual(
    got.map((e) => e.seq),
    [...expected.keys()].sort((a, b) => a - b),
  );
  for (const e of got) assert.deepEqual(e, expected.get(e.seq), `seq ${e.seq} is its newest version`);
  assert.equal(got.filter((e) => e.kind === 'tool' && e.name === 'Read').length, 400);
  assert.equal(got[0].seq, 1);
  // The newest turn end is many files back: the totals are still found.
  const tail = await scanTail(path);
  assert.equal(tail.stats.turns, 1);
  assert.equal(tail.lastSeq, got.at(-1)!.seq);
});
