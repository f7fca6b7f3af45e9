/**
 * `npm run soak [-- --minutes N] [--sections N] [--reloads N] [--churn S] [--seed N]`: the fault soak
 * (docs/reliability.md §3). Defaults: 3 minutes (at most 60), 20 sections, 100 config reloads per hour (scaled to
 * the run, at least 3), a churn thread every 6 s, seed 7.
 *
 * The real WorkerHost in its own process (bench/soak-host.ts, so RSS and descriptors are the worker's alone)
 * against the emulator on 127.0.0.1, realtime on, while 30 % of every API request fails in a random way (500,
 * 503, 429 with Retry-After, connection dropped before the command, dropped after it was applied), 5 % get a
 * 600 ms latency spike, the realtime socket is dropped every 5–15 s, and `config.yaml` is reloaded (Reload
 * config: every section and agent stopped and started again) at an even pace. One long conversation per section
 * (a message every 2–6 s, one in four asking for an approval that the human answers "yes" in the thread), and
 * thread churn: a new thread in a random section every `churn` seconds, handed off with a message, then — once
 * answered — completed or deleted (alternately). Then the faults stop and the worker has up to 120 s to drain.
 *
 * Printed table: human messages delivered once / lost / duplicated (a message counts once per *completed* agent
 * turn that carried it, so a turn cut short by a reload and replayed is not a duplicate; a message consumed as a
 * prompt answer counts as delivered), agent texts emitted (thread.log) / stored / lost / duplicated, emission-id
 * duplicates, prompts posted / unresolved, thread failures, API requests / faults / realtime drops / reloads,
 * and the worker process's RSS and open descriptors: first, last, max and the least-squares slope per hour over
 * the samples after the first minute (every 5 s). Exit status 1 when anything is lost or duplicated, a prompt is
 * left unresolved, a thread failed, a stack trace was printed, or a reload failed. Every loop is bounded by the
 * run's deadline; all traffic is to 127.0.0.1.
 */
import { parseArgs } from 'node:util';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionTuple } from '../main/emulator/index';
import { seededRandom as rng } from '../main/emulator/faults';
import { rotatedPath } from '../main/core/log-rotation';
import { items, makeWorld, procStats, sleep, waitUntil, ROOT, type World } from './lib';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    sections: { type: 'string', default: '20' },
    reloads: { type: 'string' },
    churn: { type: 'string', default: '6' },
    seed: { type: 'string', default: '7' },
  },
});
const MINUTES = Math.min(60, Math.max(0.5, Number(values.minutes)));
const SECTIONS = Math.max(1, Math.min(40, Number(values.sections)));
const RELOADS = Math.max(0, Math.min(1000, Number(values.reloads ?? Math.max(3, Math.round((100 * MINUTES) / 60)))));
const CHURN_MS = Math.max(1, Number(values.churn)) * 1000;
const SEED = Number(values.seed);

const BIG = 1_000_000_000;
// 30 % in all: each probability is conditional on the rules before it not firing.
const FAULTS = [
  { kind: 'status', status: 500, probability: 0.075 },
  { kind: 'status', status: 503, probability: 0.045 / 0.925 },
  { kind: 'rate_limit', retryAfterSec: 1, probability: 0.06 / 0.88 },
  { kind: 'drop_before', probability: 0.06 / 0.82 },
  { kind: 'drop_after', probability: 0.06 / 0.76 },
] as const;

type Item = ReturnType<typeof items>[number];
const kindOf = (i: { metadata?: Record<string, unknown> | null }): string => {
  const type = i.metadata?.type;
  return typeof type === 'string' ? type : 'human';
};
const log = (m: string): void => void process.stderr.write(`[soak] ${m}\n`);

interface Thread {
  ref: SessionTuple;
  alias: string;
  /** Human messages the driver posted here (not the "yes" answers). */
  messages: Array<{ tag: string; id: string }>;
  churn: boolean;
  /** Churn threads: what happened to them once answered. */
  closed: 'completed' | 'deleted' | null;
}

interface Sample {
  at: number;
  rssKb: number;
  fds: number;
}

/** The worker host child and its IPC. */
function startHost(w: World): {
  child: ChildProcess;
  started: Promise<number>;
  reload(timeoutMs: number): Promise<{ ok: boolean; ms: number; message?: string }>;
  stderr(): string;
  stop(): Promise<number | null>;
} {
  const child = fork(join(ROOT, 'bench/soak-host.ts'), [w.home], {
    env: w.env,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 8_000_000) err = err.slice(-4_000_000);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const started = new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker host exited (${code}): ${err.slice(-2000)}`)));
    child.on('message', (m: { type?: string; pid?: number }) => {
      if (m.type === 'started') resolve(m.pid ?? child.pid!);
    });
  });
  return {
    child,
    started,
    reload(timeoutMs) {
      return new Promise((resolve) => {
        const t0 = Date.now();
        const timer = setTimeout(() => {
          child.off('message', onMessage);
          resolve({ ok: false, ms: Date.now() - t0, message: 'timed out' });
        }, timeoutMs);
        const onMessage = (m: { type?: string; ms?: number; message?: string; phase?: string }): void => {
          if (m.type !== 'reloaded' && m.type !== 'reload_failed') return;
          clearTimeout(timer);
          child.off('message', onMessage);
          const ok = m.type === 'reloaded' && m.phase === 'running';
          resolve({ ok, ms: m.ms ?? Date.now() - t0, ...(ok ? {} : { message: m.message ?? `phase ${m.phase}` }) });
        };
        child.on('message', onMessage);
        child.send({ type: 'reload' });
      });
    },
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

const fdCount = (pid: number): number => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
};

/** Least-squares slope of `y` over time, per hour. */
function slopePerHour(samples: Sample[], y: (s: Sample) => number): number {
  if (samples.length < 2) return NaN;
  const xs = samples.map((s) => s.at / 3_600_000);
  const ys = samples.map(y);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** thread.log records, oldest first across the rotated files (log-rotation.ts). */
function threadLogRecords(w: World, ref: SessionTuple, alias: string): Array<Record<string, unknown>> {
  const path = w.paths.job(ref.session_id).threadLog(alias);
  const files: string[] = [];
  for (let n = 1000; n >= 1; n--) if (existsSync(rotatedPath(path, n))) files.push(rotatedPath(path, n));
  if (existsSync(path)) files.push(path);
  const out: Array<Record<string, unknown>> = [];
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a torn last line of a killed process: not a record
      }
    }
  }
  return out;
}

/** For each inbound item id: how many agent turns carrying it completed (a `result` line after its turn_start). */
function completedTurns(records: Array<Record<string, unknown>>): {
  completed: Map<string, number>;
  started: Set<string>;
} {
  const completed = new Map<string, number>();
  const started = new Set<string>();
  let current: string[] | null = null;
  for (const r of records) {
    if (r.src === 'worker' && r.event === 'turn_start' && Array.isArray(r.items)) {
      current = r.items as string[];
      for (const id of current) started.add(id);
    } else if (
      r.src === 'agent' &&
      r.dir === 'stdout' &&
      typeof r.line === 'string' &&
      r.line.includes('"type":"result"')
    ) {
      for (const id of current ?? []) completed.set(id, (completed.get(id) ?? 0) + 1);
      current = null;
    }
  }
  return { completed, started };
}

async function main(): Promise<number> {
  const w: World = await makeWorld({
    sections: SECTIONS,
    realtime: true,
    activeMs: 1000,
    idleMs: 1000,
    backoffMaxMs: 4000,
    maxAgents: SECTIONS + 6,
    emulator: { seed: SEED },
    scenario: {
      markers: {
        ASK: { steps: [{ tool: { name: 'Bash', input: { command: 'make check' } } }, { text: 'approved and ran' }] },
      },
    },
  });
  const random = rng(SEED);
  const threads: Thread[] = w.sessions.map((ref, i) => ({
    ref,
    alias: `conv${i}`,
    messages: [],
    churn: false,
    closed: null,
  }));
  const host = startHost(w);
  const answered = new Set<string>();
  const samples: Sample[] = [];
  const reloadTimes: number[] = [];
  const reloadFailures: string[] = [];
  let pid = 0;
  const sample = (): void => {
    try {
      samples.push({ at: Date.now(), rssKb: procStats(pid).rssKb, fds: fdCount(pid) });
    } catch {
      // the process is between lives: skip the sample
    }
  };
  const answerPrompts = (list: Thread[]): void => {
    for (const th of list) {
      if (th.closed === 'deleted') continue;
      for (const it of items(w, th.ref, th.alias)) {
        if (kindOf(it) !== 'pending_prompt') continue;
        const id = String((it.metadata?.prompt as { id?: string } | undefined)?.id);
        if (answered.has(id)) continue;
        answered.add(id);
        w.say(th.ref, th.alias, 'yes');
      }
    }
  };
  const say = (th: Thread, text: string): void => {
    const tag = `${th.alias}-m${th.messages.length}`;
    const { id } = w.say(th.ref, th.alias, `${tag}${text}`);
    th.messages.push({ tag, id });
  };
  try {
    pid = await host.started;
    for (const th of threads) {
      w.emu.control.uploadObject(w.human.user_id, th.ref, th.alias, {
        type: 'thread',
        thread: { attributes: { name: th.alias }, metadata: {} },
      });
      w.handoff(th.ref, th.alias);
    }
    const stateOf = (th: Thread): string | undefined =>
      (
        w.emu.control.getObject(th.ref, th.alias)?.value as
          { thread?: { metadata?: { instance?: { state?: string } } } } | undefined
      )?.thread?.metadata?.instance?.state;
    await waitUntil(() => threads.every((th) => stateOf(th) === 'active'), 'threads active', 120_000, 200);
    log(
      `${SECTIONS} sections active; faults on for ${MINUTES} min, ${RELOADS} reloads, churn every ${CHURN_MS / 1000} s (seed ${SEED})`,
    );
    for (const f of FAULTS) w.emu.control.addFault({ command: '*', ...f, times: BIG });
    w.emu.control.addFault({ command: '*', kind: 'latency', latencyMs: 600, probability: 0.05, times: BIG });
    let realtimeDrops = 0;
    let churnMade = 0;

    const t0 = Date.now();
    const endAt = t0 + MINUTES * 60_000;
    const reloadEvery = RELOADS > 0 ? (endAt - t0) / (RELOADS + 1) : Infinity;
    let nextReload = t0 + reloadEvery;
    let reloading: Promise<void> | null = null;
    const nextPost = new Map(threads.map((th) => [th, t0 + random() * 3000]));
    let nextDrop = t0 + 5000 + random() * 10_000;
    let nextChurn = t0 + CHURN_MS;
    let nextSample = t0;
    let reloadsDone = 0;
    while (Date.now() < endAt) {
      const now = Date.now();
      for (const th of threads) {
        if (th.churn || now < nextPost.get(th)!) continue;
        say(th, random() < 0.25 ? ' ASK' : '');
        nextPost.set(th, now + 2000 + random() * 4000);
      }
      answerPrompts(threads);
      // Churn: a new thread; the open churn threads that were answered are completed or deleted.
      if (now >= nextChurn) {
        nextChurn = now + CHURN_MS;
        const ref = w.sessions[Math.floor(random() * w.sessions.length)];
        const th: Thread = { ref, alias: `churn${churnMade++}`, messages: [], churn: true, closed: null };
        threads.push(th);
        w.emu.control.uploadObject(w.human.user_id, ref, th.alias, {
          type: 'thread',
          thread: { attributes: { name: th.alias }, metadata: {} },
        });
        say(th, '');
        w.handoff(ref, th.alias);
      }
      for (const th of threads) {
        if (!th.churn || th.closed) continue;
        const its = items(w, th.ref, th.alias);
        if (!its.some((i) => kindOf(i) === 'turn_end')) continue;
        if (Number(th.alias.slice('churn'.length)) % 2 === 0) {
          th.closed = 'completed';
          const env = w.emu.control.getObject(th.ref, th.alias)!;
          const value = structuredClone(env.value) as unknown as { thread: { metadata: Record<string, unknown> } };
          value.thread.metadata.instance = { state: 'completed' };
          w.emu.control.uploadObject(w.human.user_id, th.ref, th.alias, value as never);
        } else {
          th.closed = 'deleted';
          w.emu.control.deleteObject(th.ref, th.alias);
        }
      }
      if (now >= nextDrop) {
        w.emu.control.dropRealtime();
        realtimeDrops++;
        nextDrop = now + 5000 + random() * 10_000;
      }
      if (!reloading && now >= nextReload && reloadsDone < RELOADS) {
        reloadsDone++;
        reloading = host.reload(120_000).then((r) => {
          reloadTimes.push(r.ms);
          if (!r.ok) reloadFailures.push(r.message ?? 'failed');
          reloading = null;
        });
        nextReload += reloadEvery;
      }
      if (now >= nextSample) {
        sample();
        nextSample = now + 5000;
      }
      await sleep(100);
    }
    if (reloading) await reloading;
    const fired = w.emu.control.faults().reduce((n, f) => n + (BIG - (f.remaining ?? BIG)), 0);
    const requests = w.emu.control.counters().requests;
    w.emu.control.clearFaults();
    const human = threads.reduce((n, th) => n + th.messages.length, 0);
    log(
      `posting stopped: ${human} human messages, ${churnMade} churn threads; ${fired} faults over ${requests} requests, ${realtimeDrops} realtime drops, ${reloadsDone} reloads; draining…`,
    );

    // Drain: every open thread's last message answered by a turn_end after it, every prompt answered.
    const open = (): Thread[] => threads.filter((th) => th.closed === null);
    await waitUntil(
      () => {
        answerPrompts(open());
        return open().every((th) => {
          const its = items(w, th.ref, th.alias);
          const lastTurnEnd = its.findLastIndex((i) => kindOf(i) === 'turn_end');
          const lastHuman = its.findLastIndex((i) => kindOf(i) === 'human');
          return lastTurnEnd > lastHuman;
        });
      },
      'drain',
      120_000,
      500,
    ).catch((e: unknown) => log(String((e as Error).message)));
    await sleep(2000);
    sample();

    // ---- checks
    let delivered = 0;
    let asAnswer = 0;
    let humanLost = 0;
    let humanDup = 0;
    let emitted = 0;
    let stored = 0;
    let textLost = 0;
    let textDup = 0;
    let promptsPosted = 0;
    let promptsUnresolved = 0;
    const ids = new Map<string, number>();
    const lostTags: string[] = [];
    for (const th of threads) {
      const records = threadLogRecords(w, th.ref, th.alias);
      const { completed } = completedTurns(records);
      const its: Item[] = th.closed === 'deleted' ? [] : items(w, th.ref, th.alias);
      const answers = its
        .filter((i) => kindOf(i) === 'pending_prompt_resolved')
        .map((i) => JSON.stringify(i.metadata?.answer ?? ''));
      for (const m of th.messages) {
        const n = completed.get(m.id) ?? 0;
        const asAns = answers.filter((x) => new RegExp(`\\b${m.tag}\\b`).test(x)).length;
        if (n === 0 && asAns === 0) {
          humanLost++;
          lostTags.push(m.tag);
        } else if (n + asAns > 1) humanDup += n + asAns - 1;
        else if (asAns) asAnswer++;
        else delivered++;
      }
      // Agent texts: thread.log (what the agent printed) vs the server (deleted threads' items are gone).
      if (th.closed === 'deleted') continue;
      const out: string[] = [];
      for (const r of records) {
        if (r.dir !== 'stdout' || typeof r.line !== 'string' || !r.line.includes('"assistant"')) continue;
        const msg = JSON.parse(r.line) as { message?: { content?: Array<{ type: string; text?: string }> } };
        for (const b of msg.message?.content ?? []) if (b.type === 'text' && b.text?.trim()) out.push(b.text);
      }
      const got = its.filter((i) => kindOf(i) === 'text').map((i) => i.content[0]?.text ?? '');
      emitted += out.length;
      stored += got.length;
      const counts = new Map<string, number>();
      for (const t of out) counts.set(t, (counts.get(t) ?? 0) + 1);
      for (const t of got) counts.set(t, (counts.get(t) ?? 0) - 1);
      for (const n of counts.values()) {
        if (n > 0) textLost += n;
        if (n < 0) textDup += -n;
      }
      const prompts = its.filter((i) => kindOf(i) === 'pending_prompt');
      const resolvedIds = new Set(
        its.filter((i) => kindOf(i) === 'pending_prompt_resolved').map((i) => String(i.metadata?.prompt_id)),
      );
      promptsPosted += prompts.length;
      promptsUnresolved += prompts.filter(
        (p) => !resolvedIds.has(String((p.metadata?.prompt as { id?: string } | undefined)?.id)),
      ).length;
      for (const it of its) {
        const id = it.metadata?.emission_id;
        if (typeof id === 'string') ids.set(id, (ids.get(id) ?? 0) + 1);
      }
    }
    for (const ref of w.sessions) {
      for (const it of items(w, ref, 'worker')) {
        const id = it.metadata?.emission_id;
        if (typeof id === 'string') ids.set(id, (ids.get(id) ?? 0) + 1);
      }
    }
    const idDups = [...ids.values()].filter((n) => n > 1).reduce((s, n) => s + n - 1, 0);
    const failed = w.sessions.flatMap((ref) => items(w, ref, 'worker').filter((i) => kindOf(i) === 'thread_failed'));
    const stderr = host.stderr();
    const stacks = /\n\s+at \S|\\n\s+at \S/.test(stderr);
    const warm = samples.filter((s) => s.at >= t0 + 60_000);
    const slopeSet = warm.length >= 3 ? warm : samples;
    const mb = (kb: number): string => (kb / 1024).toFixed(1);
    const rss = samples.map((s) => s.rssKb);
    const fds = samples.map((s) => s.fds);

    const totals: Array<[string, string | number | boolean]> = [
      ['minutes', MINUTES],
      ['sections', SECTIONS],
      ['seed', SEED],
      ['human_messages', human],
      ['human_delivered_once', delivered],
      ['human_as_prompt_answer', asAnswer],
      ['human_lost', humanLost],
      ['human_duplicated', humanDup],
      ['agent_texts_emitted', emitted],
      ['agent_texts_stored', stored],
      ['agent_texts_lost', textLost],
      ['agent_texts_duplicated', textDup],
      ['emission_ids', ids.size],
      ['emission_id_duplicates', idDups],
      ['prompts_posted', promptsPosted],
      ['prompts_unresolved', promptsUnresolved],
      ['thread_failures', failed.length],
      ['churn_threads', churnMade],
      ['config_reloads', `${reloadTimes.length} (failed ${reloadFailures.length}; median ${median(reloadTimes)} ms)`],
      ['api_requests', requests],
      ['faults_injected', `${fired} (${((100 * fired) / Math.max(1, requests)).toFixed(1)} %)`],
      ['realtime_drops', realtimeDrops],
      ['rss_mb first/last/max', `${mb(rss[0])} / ${mb(rss.at(-1)!)} / ${mb(Math.max(...rss))}`],
      ['rss_slope_mb_per_hour', (slopePerHour(slopeSet, (s) => s.rssKb) / 1024).toFixed(1)],
      ['fds first/last/max', `${fds[0]} / ${fds.at(-1)} / ${Math.max(...fds)}`],
      ['fd_slope_per_hour', slopePerHour(slopeSet, (s) => s.fds).toFixed(1)],
      ['samples', `${samples.length} (slope over ${slopeSet.length})`],
      ['stack_traces_on_stderr', stacks],
    ];
    const ok =
      humanLost === 0 &&
      humanDup === 0 &&
      textLost === 0 &&
      textDup === 0 &&
      idDups === 0 &&
      promptsUnresolved === 0 &&
      failed.length === 0 &&
      reloadFailures.length === 0 &&
      !stacks;
    process.stdout.write(
      `${totals.map(([key, v]) => `${key.padEnd(26)} ${String(v)}`).join('\n')}\nresult                     ${ok ? 'PASS' : 'FAIL'}\n`,
    );
    if (failed.length) process.stdout.write(`failures: ${JSON.stringify(failed.map((f) => f.metadata?.error))}\n`);
    if (lostTags.length) process.stdout.write(`lost: ${lostTags.slice(0, 20).join(', ')}\n`);
    if (reloadFailures.length) process.stdout.write(`reload failures: ${reloadFailures.slice(0, 5).join('; ')}\n`);
    // The worker's warnings and errors by event (what went wrong, if anything did).
    const events = new Map<string, number>();
    for (const line of stderr.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const r = JSON.parse(line) as { level?: string; event?: string; code?: string };
        if (r.level === 'warning' || r.level === 'error') {
          const key = `${r.level} ${r.event}${r.code ? ` ${r.code}` : ''}`;
          events.set(key, (events.get(key) ?? 0) + 1);
        }
      } catch {
        // not a JSON line
      }
    }
    for (const [key, n] of [...events].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      process.stdout.write(`  ${String(n).padStart(6)}  ${key}\n`);
    }
    if (process.env.SOAK_KEEP) process.stdout.write(`kept: ${w.dir}\n`);
    return ok ? 0 : 1;
  } finally {
    await host.stop();
    if (process.env.SOAK_KEEP) await w.emu.close();
    else await w.close();
  }
}

function median(v: number[]): number {
  if (!v.length) return 0;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`soak failed: ${String(e)}\n`);
    process.exit(1);
  },
);
