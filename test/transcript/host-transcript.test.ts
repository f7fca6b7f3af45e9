/**
 * The host's transcript API over the real core: the emulator on 127.0.0.1 and the fake `claude` as a child
 * process. A turn with thinking, text, a tool call and an approval prompt answered from the "desktop" becomes
 * transcript entries, pushed live to a subscriber; the snapshot carries stats but no transcript; after a
 * restart the numbering and totals continue, and a stopped worker still pages the thread from thread.log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TranscriptEntry } from '../../main/core/transcript/schema';
import { makeRig, waitFor, waitSnapshot } from '../harness/support';

const T = { timeout: 90_000 };

test('host: live transcript entries, stats in the snapshot, paging from thread.log after a restart', T, async (t) => {
  const rig = await makeRig(t, {
    realtime: true,
    scenario: {
      markers: {
        WORK: {
          steps: [
            { thinking: 'Run the suite first.' },
            { text: 'Running the tests.' },
            { tool: { name: 'Bash', input: { command: 'npm test' }, ask: false, output: 'a\nb\nc\n' } },
            { tool: { name: 'Bash', input: { command: 'rm -rf build' } } },
            { text: 'Done cleaning.' },
          ],
          usage: { input_tokens: 1000, cache_read_input_tokens: 600, output_tokens: 50 },
        },
      },
      default: { steps: [{ text: 'ok' }], usage: { input_tokens: 10, output_tokens: 2 } },
    },
  });
  rig.chat('job');
  rig.handoff('job');
  const host = rig.host({ writeSnapshotFile: false });
  await host.start();
  await waitSnapshot(host, (x) => x.sections[0]?.threads.some((th) => th.state.startsWith('active')), 'active', 15_000);
  const sectionId = host.snapshot().sections[0].id;

  const pushed: TranscriptEntry[][] = [];
  const unsubscribe = host.subscribeThread(sectionId, 'job', (entries) => pushed.push(entries));
  rig.say('job', 'WORK please');
  await waitSnapshot(host, (x) => x.prompts.length === 1, 'prompt', 20_000);
  const promptId = host.snapshot().prompts[0].id;
  await host.answerPrompt(promptId, { kind: 'approval', decision: 'allow' });
  await waitSnapshot(host, (x) => x.sections[0].threads[0].stats.turns === 1, 'turn counted', 20_000);
  await waitFor(() => pushed.flat().some((e) => e.kind === 'turn_end'), 'turn end pushed');
  unsubscribe();

  const page = await host.threadTranscript(sectionId, 'job');
  const kinds = page.entries.map((e) => e.kind);
  assert.deepEqual(
    kinds.filter((k) => k !== 'status'),
    ['human', 'thinking', 'text', 'tool', 'tool', 'prompt', 'text', 'turn_end'],
  );
  assert.ok(kinds.includes('status'), 'the agent start is in the transcript');
  const byKind = <K extends TranscriptEntry['kind']>(k: K) =>
    page.entries.filter((e): e is Extract<TranscriptEntry, { kind: K }> => e.kind === k);
  assert.match(byKind('human')[0].text, /WORK please/);
  const [first, second] = byKind('tool');
  assert.deepEqual(
    [first.summary, first.status, first.output_preview, first.output_lines],
    ['npm test', 'ok', 'a\nb\nc', 3],
  );
  assert.equal(second.status, 'ok', 'the approved call got its result');
  const prompt = byKind('prompt')[0];
  assert.deepEqual([prompt.status, prompt.resolution, prompt.answered_via], ['answered', 'Allowed', 'desktop']);
  const end = byKind('turn_end')[0];
  assert.deepEqual([end.input_tokens, end.cached_tokens, end.output_tokens], [1600, 600, 50]);
  // Seqs are 1, 2, 3… in order; the subscriber got every entry, each in its newest version, in few batches.
  assert.deepEqual(
    page.entries.map((e) => e.seq),
    page.entries.map((_, i) => i + 1),
  );
  const latest = new Map<number, TranscriptEntry>();
  for (const batch of pushed) for (const e of batch) latest.set(e.seq, e);
  for (const e of page.entries.filter((x) => x.seq > 1)) assert.deepEqual(latest.get(e.seq), e, `pushed seq ${e.seq}`);
  assert.ok(pushed.length < page.entries.length, `batched (${pushed.length} pushes)`);

  // Stats per thread and per section; the snapshot has no transcript text.
  const snap = host.snapshot();
  const stats = { turns: 1, input_tokens: 1600, cached_tokens: 600, output_tokens: 50, agent_ms: end.duration_ms };
  assert.deepEqual(snap.sections[0].threads[0].stats, stats);
  assert.deepEqual(snap.sections[0].stats, stats);
  assert.doesNotMatch(JSON.stringify(snap), /Done cleaning|Run the suite/);
  const lastSeq = page.entries.at(-1)!.seq;
  await host.stop();

  // Stopped: the same page straight from thread.log.
  const stopped = await host.threadTranscript(sectionId, 'job');
  assert.deepEqual(
    stopped.entries.filter((e) => e.seq <= lastSeq),
    page.entries,
  );
  assert.deepEqual(stopped.stats, stats);
  await assert.rejects(host.threadTranscript(sectionId, 'nope'), { code: 'NOT_FOUND' });

  // Restarted: numbering and totals continue.
  const again = rig.host({ writeSnapshotFile: false });
  await again.start();
  t.after(() => again.stop());
  await waitSnapshot(again, (x) => x.sections[0]?.threads[0]?.state === 'active_idle', 'resumed', 20_000);
  assert.deepEqual(again.snapshot().sections[0].threads[0].stats, stats);
  rig.say('job', 'one more');
  await waitSnapshot(again, (x) => x.sections[0].threads[0].stats.turns === 2, 'second turn', 20_000);
  const after = await again.threadTranscript(sectionId, 'job', { limit: 500 });
  const seqs = after.entries.map((e) => e.seq);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i + 1),
    'one numbering across the restart',
  );
  assert.ok(after.entries.at(-1)!.seq > lastSeq);
  assert.equal(again.snapshot().sections[0].threads[0].stats.input_tokens, 1610);
});
