/**
 * `npm run bench [-- --only outbound,inbound,idle,scale,throughput,transcript] [--quick]`
 *
 * The real worker process (`node dist/cli.js start --home <tmp>`) against the emulator on 127.0.0.1 and the
 * fake Claude agent, measured from the outside, printed as one table (median and p99 of each figure).
 *
 * - outbound: 1,000 agent emissions (10 ms apart). Emission time = the `timestamp` the fake agent stamps into
 *   each assistant line (ms); stored time = the emulator's in-process event for that item.
 * - inbound: a human item posted (control API, in-process) → the turn written to the agent's stdin (the worker's
 *   thread.log `dir:"stdin"` record, ms), realtime on and off (default polling config).
 * - idle: API requests per minute of one attached section with one active, idle thread (emulator counters).
 * - scale: 20 sections × 5 active idle threads: worker RSS and CPU (/proc) over a window; start → 20 sections
 *   attached (5 runs without threads).
 * - throughput: 10 threads streaming 500 emissions each at once (5 ms apart): items/s and per-thread backlog
 *   (unconfirmed emits in each outbox journal, sampled every 250 ms).
 * - transcript: a thread streaming 10,000 items: the transcript's entries kept and heap, the worker's RSS
 *   (bench/transcript.ts).
 */
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { SessionTuple } from '../main/emulator/index';
import {
  CLK_TCK,
  items,
  makeWorld,
  median,
  p99,
  procStats,
  sleep,
  startWorkerProcess,
  threadLog,
  waitUntil,
  type WorkerChild,
  type World,
} from './lib';
import { transcriptBench } from './transcript';

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'slope-minutes': { type: 'string' },
  },
});
const ONLY = flags.only ? new Set(flags.only.split(',')) : null;
const QUICK = flags.quick === true;

interface Row {
  metric: string;
  median: number | string;
  p99: number | string;
  unit: string;
  goal: string;
  ok: boolean | null;
  note?: string;
}
const rows: Row[] = [];
const fmt = (v: number | string): string =>
  typeof v === 'number' ? (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)) : '–') : v;

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

const kindOf = (i: { metadata?: Record<string, unknown> | null }): string => {
  const type = i.metadata?.type;
  return typeof type === 'string' ? type : 'human';
};

/** Hands a thread off with a first message and waits until that first turn is posted (agent active, idle). */
async function warm(w: World, ref: SessionTuple, alias: string, timeoutMs = 60_000): Promise<void> {
  w.emu.control.uploadObject(w.human.user_id, ref, alias, {
    type: 'thread',
    thread: { attributes: { name: alias }, metadata: {} },
  });
  w.say(ref, alias, 'hello');
  w.handoff(ref, alias);
  await waitUntil(() => items(w, ref, alias).some((i) => kindOf(i) === 'turn_end'), `${alias} warm`, timeoutMs, 25);
}

async function outbound(): Promise<void> {
  const N = 1000;
  const steps = Array.from({ length: N }, (_, i) => [{ text: `e${i}` }, { sleep: 10 }]).flat();
  const w = await makeWorld({ realtime: true, scenario: { markers: { EMIT: { steps } } } });
  const storedAt = new Map<string, number>();
  w.emu.onEvent((e) => {
    if (e.type === 'session_thread_item_posted') storedAt.set(String((e as { item_id?: string }).item_id), Date.now());
  });
  const worker = startWorkerProcess(w);
  try {
    const ref = w.sessions[0];
    await warm(w, ref, 'job');
    w.say(ref, 'job', 'EMIT');
    await waitUntil(
      () => items(w, ref, 'job').filter((i) => kindOf(i) === 'turn_end').length === 2,
      'EMIT turn stored',
      120_000,
      100,
    );
    const emitted = new Map<string, number>();
    for (const r of await threadLog(w, ref, 'job')) {
      if (r.dir !== 'stdout' || typeof r.line !== 'string' || !r.line.includes('"assistant"')) continue;
      const msg = JSON.parse(r.line) as {
        timestamp?: string;
        message?: { content?: Array<{ type: string; text?: string }> };
      };
      const text = msg.message?.content?.find((b) => b.type === 'text')?.text;
      if (text && /^e\d+$/.test(text) && msg.timestamp) emitted.set(text, Date.parse(msg.timestamp));
    }
    const lat: number[] = [];
    for (const it of items(w, ref, 'job')) {
      const text = it.content[0]?.text ?? '';
      if (kindOf(it) === 'text' && emitted.has(text) && storedAt.has(it.id))
        lat.push(storedAt.get(it.id)! - emitted.get(text)!);
    }
    rows.push({
      metric: `outbound latency, emission → stored (n=${lat.length})`,
      median: median(lat),
      p99: p99(lat),
      unit: 'ms',
      goal: 'p50 ≤ 10, p99 ≤ 50',
      ok: median(lat) <= 10 && p99(lat) <= 50,
    });
  } finally {
    await worker.stop();
    await w.close();
  }
}

async function inbound(realtime: boolean): Promise<void> {
  const reps = realtime ? (QUICK ? 10 : 30) : QUICK ? 6 : 20;
  const activeMs = 3000;
  const w = await makeWorld({ realtime, activeMs, idleMs: 1500 });
  const worker = startWorkerProcess(w);
  try {
    const ref = w.sessions[0];
    await warm(w, ref, 'job');
    const lat: number[] = [];
    let seen = 0;
    for (let r = 0; r < reps; r++) {
      // A random phase against the poll cadence (realtime off), a short gap otherwise.
      await sleep(realtime ? 50 + Math.random() * 100 : Math.random() * activeMs);
      const tag = `ping-${r}-${Math.random().toString(36).slice(2, 8)}`;
      const { at } = w.say(ref, 'job', tag);
      const ts = await waitUntil(
        async () => {
          const rec = (await threadLog(w, ref, 'job'))
            .slice(seen)
            .find((x) => x.dir === 'stdin' && String(x.line).includes(tag));
          return rec ? Date.parse(String(rec.ts)) : null;
        },
        `turn ${tag} on stdin`,
        15_000,
        5,
      );
      lat.push(ts - at);
      seen = (await threadLog(w, ref, 'job')).length;
      await waitUntil(
        () => items(w, ref, 'job').filter((i) => kindOf(i) === 'turn_end').length === r + 2,
        'turn end',
        15_000,
        20,
      );
    }
    const goal = realtime ? 100 : activeMs / 2 + 50;
    rows.push({
      metric: `inbound latency, posted → agent stdin, realtime ${realtime ? 'on' : `off (poll ${activeMs} ms)`} (n=${lat.length})`,
      median: median(lat),
      p99: p99(lat),
      unit: 'ms',
      goal: realtime ? 'p50 ≤ 100' : `p50 ≤ ${goal}`,
      ok: median(lat) <= goal,
    });
  } finally {
    await worker.stop();
    await w.close();
  }
}

/**
 * Idle cost. With realtime on the window is one whole lengthened safety-net period (5 min, protocol §4), so
 * it holds exactly one reconcile wherever it starts; realtime off keeps the 60 s window (3 s polls).
 */
async function idle(realtime: boolean): Promise<void> {
  const windowMs = realtime ? (QUICK ? 60_000 : 300_000) : QUICK ? 30_000 : 60_000;
  const w = await makeWorld({ realtime });
  const worker = startWorkerProcess(w);
  try {
    const ref = w.sessions[0];
    await warm(w, ref, 'job');
    // Realtime on: past the first heartbeat after the connect (the only one that must read `worker`).
    await sleep(realtime ? Math.max(2000, 40_000 - (Date.now() - worker.spawnedAt)) : 2000);
    w.emu.control.resetCounters();
    await sleep(windowMs);
    const c = w.emu.control.counters();
    const perMin = ((c.byUser[w.worker.user_id] ?? 0) * 60_000) / windowMs;
    const by = Object.entries(c.byCommand)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    rows.push({
      metric: `idle cost, API requests/min, 1 section + 1 idle active thread, realtime ${realtime ? 'on' : 'off (poll 3000 ms active)'}`,
      median: perMin,
      p99: '–',
      unit: 'req/min',
      goal: realtime ? '≤ 1 (floor under protocol §5: 2.6)' : '(none)',
      ok: realtime ? perMin <= 1 : null,
      note: `window ${windowMs / 1000} s: ${by}`,
    });
  } finally {
    await worker.stop();
    await w.close();
  }
}

async function scaleAttach(): Promise<void> {
  // Start → 20 sections attached, repeated without threads.
  const attach: number[] = [];
  for (let run = 0; run < (QUICK ? 3 : 5); run++) {
    const w = await makeWorld({ realtime: true, sections: 20 });
    const worker = startWorkerProcess(w);
    try {
      const t = await waitUntil(
        () => {
          const n = worker.logs().filter((l) => l.event === 'section_attached');
          return n.length === 20 ? n[19]._at : null;
        },
        '20 sections attached',
        60_000,
        5,
      );
      attach.push(t - worker.spawnedAt);
    } finally {
      await worker.stop();
      await w.close();
    }
  }
  rows.push({
    metric: `start → 20 sections attached (process spawn included; ${attach.length} runs)`,
    median: median(attach),
    p99: p99(attach),
    unit: 'ms',
    goal: '≤ 2000',
    ok: p99(attach) <= 2000,
  });
}

/** 20 sections × 5 job threads, all active and idle; resolves once all 100 are active. */
async function scaleWorld(): Promise<{ w: World; worker: WorkerChild }> {
  const w = await makeWorld({ realtime: true, sections: 20, maxAgents: 100 });
  const worker = startWorkerProcess(w);
  try {
    for (const ref of w.sessions) for (let i = 0; i < 5; i++) w.handoff(ref, `t${i}`);
    await waitUntil(
      () =>
        w.sessions.every((ref) =>
          [0, 1, 2, 3, 4].every((i) => {
            const env = w.emu.control.getObject(ref, `t${i}`);
            return (
              (env?.value as { thread?: { metadata?: { instance?: { state?: string } } } })?.thread?.metadata?.instance
                ?.state === 'active'
            );
          }),
        ),
      '100 threads active',
      180_000,
      250,
    );
    return { w, worker };
  } catch (e) {
    await worker.stop();
    await w.close();
    throw e;
  }
}

/** 20 × 5 active idle threads: memory and CPU of the worker process. */
async function scaleRss(): Promise<void> {
  const { w, worker } = await scaleWorld();
  try {
    await sleep(5000);
    const windowS = QUICK ? 15 : 30;
    const rss: number[] = [];
    const start = procStats(worker.pid);
    const t0 = Date.now();
    for (let i = 0; i < windowS; i++) {
      await sleep(1000);
      rss.push(procStats(worker.pid).rssKb / 1024);
    }
    const cpuPct = ((procStats(worker.pid).cpuTicks - start.cpuTicks) / CLK_TCK / ((Date.now() - t0) / 1000)) * 100;
    rows.push({
      metric: `scale 20 × 5 idle: worker RSS (1 s samples), ${worker.label}`,
      median: median(rss),
      p99: p99(rss),
      unit: 'MB',
      goal: '≤ 100',
      ok: p99(rss) <= 100,
    });
    rows.push({
      metric: `scale 20 × 5 idle: worker CPU over ${windowS} s`,
      median: cpuPct,
      p99: '–',
      unit: '% of a core',
      goal: '≤ 1',
      ok: cpuPct <= 1,
    });
  } finally {
    await worker.stop();
    await w.close();
  }
}

/**
 * `--only slope [--slope-minutes N]` (default 10): the same 20 × 5 world left idle for N minutes, RSS every
 * 5 s. The first 2 minutes are left out (V8 gives the start-up heap back then). Reported: the least-squares
 * slope of the rest (MB/h; the GC sawtooth of ± 2 MB makes it noisy over minutes) and the drift of the
 * troughs — the lowest RSS of the second half minus that of the first, i.e. what survives collection. Flat =
 * a trough drift within 1 MB.
 */
async function slope(): Promise<void> {
  const minutes = Number(flags['slope-minutes'] ?? 10);
  if (!Number.isFinite(minutes) || minutes <= 2) throw new Error('--slope-minutes must be a number above 2');
  const { w, worker } = await scaleWorld();
  try {
    const samples: Array<[number, number]> = [];
    const t0 = Date.now();
    while (Date.now() - t0 < minutes * 60_000) {
      await sleep(5000);
      samples.push([(Date.now() - t0) / 1000, procStats(worker.pid).rssKb / 1024]);
    }
    const settled = samples.filter(([t]) => t >= 120);
    const half = Math.floor(settled.length / 2);
    const troughDrift =
      Math.min(...settled.slice(half).map(([, v]) => v)) - Math.min(...settled.slice(0, half).map(([, v]) => v));
    const mbPerHour = leastSquaresSlope(settled) * 3600;
    const rss = samples.map(([, v]) => v);
    rows.push({
      metric: `idle slope, 20 × 5 for ${minutes} min: worker RSS (5 s samples), least-squares over minutes 2–${minutes}, ${worker.label}`,
      median: mbPerHour,
      p99: '–',
      unit: 'MB/h',
      goal: 'flat: trough drift ≤ 1 MB',
      ok: troughDrift <= 1,
      note: `trough drift ${troughDrift.toFixed(1)} MB; RSS first ${fmt(rss[0])}, min ${fmt(Math.min(...rss))}, max ${fmt(Math.max(...rss))}, last ${fmt(rss.at(-1)!)} MB`,
    });
  } finally {
    await worker.stop();
    await w.close();
  }
}

function leastSquaresSlope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

async function throughput(): Promise<void> {
  const N = 500;
  const T = 10;
  const steps = Array.from({ length: N }, (_, i) => [{ text: `s${i}` }, { sleep: 5 }]).flat();
  const w = await makeWorld({ realtime: true, maxAgents: T, scenario: { markers: { STREAM: { steps } } } });
  const worker = startWorkerProcess(w);
  try {
    const ref = w.sessions[0];
    const aliases = Array.from({ length: T }, (_, i) => `t${i}`);
    await Promise.all(aliases.map((a) => warm(w, ref, a, 120_000)));
    const samples: number[][] = [];
    const t0 = Date.now();
    for (const a of aliases) w.say(ref, a, 'STREAM');
    const backlog = async (a: string): Promise<number> => {
      const text = await readFile(w.paths.job(ref.session_id).threadOutbox(a), 'utf8').catch(() => '');
      return (text.match(/"op":"emit"/g)?.length ?? 0) - (text.match(/"op":"done"/g)?.length ?? 0);
    };
    const done = (): boolean =>
      aliases.every((a) => items(w, ref, a).filter((i) => kindOf(i) === 'turn_end').length === 2);
    while (!done()) {
      if (Date.now() - t0 > 300_000) throw new Error('throughput: not drained in 300 s');
      samples.push(await Promise.all(aliases.map(backlog)));
      await sleep(250);
    }
    const elapsed = (Date.now() - t0) / 1000;
    const posted = aliases.reduce(
      (n, a) =>
        n + items(w, ref, a).filter((i) => kindOf(i) === 'text' && /^s\d+$/.test(i.content[0]?.text ?? '')).length,
      0,
    );
    const maxBacklog = samples.map((s) => Math.max(...s));
    const peak = Math.max(0, ...maxBacklog);
    const peakAt = maxBacklog.indexOf(peak) * 0.25;
    // "Keeps growing" = the largest backlog is still rising in the last quarter of the run.
    const lastQuarter = maxBacklog.slice(Math.floor(maxBacklog.length * 0.75));
    const growingAtEnd = lastQuarter.length > 1 && lastQuarter.at(-1)! > lastQuarter[0];
    rows.push({
      metric: `throughput: ${T} threads × ${N} emissions (5 ms apart), ${posted} items`,
      median: posted / elapsed,
      p99: '–',
      unit: 'items/s',
      goal: `offered ≈ ${Math.round((T * 1000) / 6)}/s`,
      ok: null,
      note: `all stored in ${elapsed.toFixed(1)} s`,
    });
    rows.push({
      metric: 'throughput: largest per-thread backlog (unconfirmed emits)',
      median: peak,
      p99: '–',
      unit: 'items',
      goal: 'drains, not growing',
      ok: !growingAtEnd,
      note: `peak at ${peakAt.toFixed(1)} s, ${growingAtEnd ? 'still growing' : 'drained'} by the end`,
    });
  } finally {
    await worker.stop();
    await w.close();
  }
}

const SCENARIOS: Array<[string, () => Promise<void>]> = [
  ['outbound', outbound],
  [
    'inbound',
    async () => {
      await inbound(true);
      await inbound(false);
    },
  ],
  [
    'idle',
    async () => {
      await idle(true);
      await idle(false);
    },
  ],
  [
    'scale',
    async () => {
      await scaleAttach();
      await scaleRss();
    },
  ],
  ['scale-rss', scaleRss],
  ['throughput', throughput],
  ['transcript', async () => void rows.push(...(await transcriptBench()))],
  ['slope', slope],
];
/** Run only when named in --only: slope takes 10 minutes, scale-rss is part of scale. */
const ON_REQUEST = new Set(['scale-rss', 'slope']);

async function main(): Promise<void> {
  const started = Date.now();
  const loadAtStart = os.loadavg()[0].toFixed(2);
  for (const [name, fn] of SCENARIOS) {
    if (ONLY ? !ONLY.has(name) : ON_REQUEST.has(name)) continue;
    log(`${name}…`);
    const t = Date.now();
    try {
      await fn();
    } catch (e) {
      rows.push({
        metric: `${name}: FAILED`,
        median: '–',
        p99: '–',
        unit: '',
        goal: '',
        ok: false,
        note: String((e as Error).message),
      });
    }
    log(`${name} done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  const head = `BlobHub worker bench — ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, ${os.platform()} ${os.release()}; load average at start ${loadAtStart}, at end ${os.loadavg()[0].toFixed(2)}; total ${((Date.now() - started) / 1000).toFixed(0)} s${QUICK ? ' (--quick)' : ''}`;
  const lines = [head, '', '| figure | median | p99 | unit | goal | met |', '|---|---:|---:|---|---|---|'];
  for (const r of rows)
    lines.push(
      `| ${r.metric}${r.note ? ` — ${r.note}` : ''} | ${fmt(r.median)} | ${fmt(r.p99)} | ${r.unit} | ${r.goal} | ${r.ok === null ? '–' : r.ok ? 'yes' : '**no**'} |`,
    );
  process.stdout.write(lines.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${String(e)}\n`);
    process.exit(1);
  },
);
