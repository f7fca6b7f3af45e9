/**
 * Memory of a thread's transcript while it streams 10,000 items (docs/desktop.md "Thread view", bounds).
 *
 * - model: the transcript itself (ThreadTranscript over a real thread.log on disk, one subscriber through the
 *   hub, as the app's thread view subscribes) fed 10,000 agent events — text, thinking, tool call + result —
 *   in this process; V8 heap after a full GC and RSS before/after, entries and characters kept in memory.
 * - worker: the real worker process (`node dist/cli.js start`) and the fake Claude streaming the same 10,000
 *   items to the emulator; the worker's RSS (/proc) before the stream and after it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ThreadLog } from '../main/core/agents/thread-log';
import type { AgentEvent } from '../main/core/agents/types';
import { ThreadTranscript, TranscriptHub, TRANSCRIPT_LIMITS } from '../main/core/transcript/index';
import { items, makeWorld, procStats, sleep, startWorkerProcess, waitUntil, type World } from './lib';
import type { SessionTuple } from '../main/emulator/index';

export interface BenchRow {
  metric: string;
  median: number | string;
  p99: number | string;
  unit: string;
  goal: string;
  ok: boolean | null;
  note?: string;
}

const ITEMS = 10_000;

/** A full GC: `--expose-gc` switched on at run time, the `gc` function taken from a fresh context. */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const mb = (bytes: number): number => bytes / 1024 / 1024;

/** 10,000 items: per round a text, a thinking block, and a tool call with its result. */
function* events(): Generator<AgentEvent> {
  for (let i = 0; i < ITEMS / 4; i++) {
    yield { type: 'text', text: `Step ${i}: looking at the next file and what it does.` };
    yield { type: 'thinking', text: `The tests for module ${i} need the fixture first.` };
    yield { type: 'tool_call', name: 'Bash', invocationId: `tu_${i}`, input: { command: `npm test -- part${i}` } };
    yield { type: 'tool_result', invocationId: `tu_${i}`, output: `ok ${i}\n`.repeat(20), isError: false };
  }
}

async function model(): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bhw-bench-transcript-'));
  try {
    const log = new ThreadLog(join(dir, 'thread.log'));
    const hub = new TranscriptHub();
    let received = 0;
    const unsubscribe = hub.subscribe('s/t', (entries) => {
      received += entries.length;
    });
    const transcript = await ThreadTranscript.open({ log, publish: (e) => hub.publish('s/t', e) });
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const rss0 = process.memoryUsage().rss;
    let n = 0;
    for (const event of events()) {
      transcript.record({ type: 'agent', event });
      // Let the hub deliver now and then, as the event loop does between agent lines.
      if (++n % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    hub.flush();
    gc();
    const heap1 = process.memoryUsage().heapUsed;
    const rss1 = process.memoryUsage().rss;
    const kept = transcript.held;
    unsubscribe();
    log.close();
    const bounded = kept <= TRANSCRIPT_LIMITS.RING_ENTRIES && transcript.heldChars <= TRANSCRIPT_LIMITS.RING_CHARS;
    return [
      {
        metric: `transcript of a thread streaming ${ITEMS} items: entries kept in memory (of ${n} events)`,
        median: kept,
        p99: '–',
        unit: 'entries',
        goal: `≤ ${TRANSCRIPT_LIMITS.RING_ENTRIES}`,
        ok: bounded,
        note: `${transcript.heldChars} chars held; ${received} entries delivered to the subscriber`,
      },
      {
        metric: `transcript of a thread streaming ${ITEMS} items: heap after GC, before → after`,
        median: `${mb(heap0).toFixed(1)} → ${mb(heap1).toFixed(1)}`,
        p99: '–',
        unit: 'MB',
        goal: 'bounded (≤ +5 MB)',
        ok: mb(heap1 - heap0) <= 5,
        note: `RSS ${mb(rss0).toFixed(0)} → ${mb(rss1).toFixed(0)} MB (this bench process)`,
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const kindOf = (i: { metadata?: Record<string, unknown> | null }): string => {
  const type = i.metadata?.type;
  return typeof type === 'string' ? type : 'human';
};

async function worker(): Promise<BenchRow[]> {
  const steps: unknown[] = [];
  for (let i = 0; i < ITEMS / 4; i++) {
    steps.push(
      { text: `Step ${i}: looking at the next file and what it does.` },
      { thinking: `The tests for module ${i} need the fixture first.` },
      {
        tool: { name: 'Bash', input: { command: `npm test -- part${i}` }, ask: false, output: `ok ${i}\n`.repeat(20) },
      },
    );
  }
  const w: World = await makeWorld({ realtime: true, scenario: { markers: { STREAM: { steps } } } });
  const child = startWorkerProcess(w);
  try {
    const ref: SessionTuple = w.sessions[0];
    w.emu.control.uploadObject(w.human.user_id, ref, 'job', {
      type: 'thread',
      thread: { attributes: { name: 'job' }, metadata: {} },
    });
    w.say(ref, 'job', 'hello');
    w.handoff(ref, 'job');
    const turns = () => items(w, ref, 'job').filter((i) => kindOf(i) === 'turn_end').length;
    await waitUntil(() => turns() === 1, 'first turn', 60_000, 50);
    await sleep(2_000);
    const before = procStats(child.pid).rssKb;
    w.say(ref, 'job', 'STREAM');
    await waitUntil(() => turns() === 2, 'the 10,000-item turn stored', 600_000, 250);
    await sleep(2_000);
    const after = procStats(child.pid).rssKb;
    const stored = items(w, ref, 'job').length;
    return [
      {
        metric: `worker process, a thread streaming ${ITEMS} items: RSS before → after`,
        median: `${(before / 1024).toFixed(0)} → ${(after / 1024).toFixed(0)}`,
        p99: '–',
        unit: 'MB',
        // Reported, not judged: RSS also holds what V8 has freed but not yet returned, and the outbox's own state.
        goal: 'reported',
        ok: null,
        note: `${stored} items in the thread`,
      },
    ];
  } finally {
    await child.stop();
    await w.close();
  }
}

export async function transcriptBench(): Promise<BenchRow[]> {
  return [...(await model()), ...(await worker())];
}
