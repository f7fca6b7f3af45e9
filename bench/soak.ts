/**
 * `npm run soak [-- --minutes N] [--threads N] [--seed N]` (default 3 minutes, 10 threads; at most 10 minutes).
 *
 * The real worker process against the emulator while 20 % of every API request fails in a random way (500,
 * 503, 429 with Retry-After, connection dropped before the command, dropped after it was applied) plus
 * latency spikes on 5 % and a realtime disconnect every 5–15 s. A scripted human keeps `threads`
 * conversations going (a message every 1–4 s per thread, one in four asking for an approval, which the human
 * answers "yes" in the thread). Then the faults stop and the worker gets up to 90 s to drain.
 *
 * Checks, printed as totals: every human message reached the agent exactly once and in order; every agent
 * text emitted (thread.log) is on the server exactly once and in order; no emission_id twice; every prompt
 * answered; no thread failed. Exit status 1 if any check fails.
 */
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import type { SessionTuple } from '../main/emulator/index';
import { seededRandom as rng } from '../main/emulator/faults';
import { items, makeWorld, sleep, startWorkerProcess, threadLog, waitUntil, type World } from './lib';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    threads: { type: 'string', default: '10' },
    seed: { type: 'string', default: '7' },
  },
});
const MINUTES = Math.min(10, Math.max(0.25, Number(values.minutes)));
const THREADS = Math.max(1, Math.min(20, Number(values.threads)));
const SEED = Number(values.seed);

const BIG = 1_000_000_000;
const FAULTS = [
  { kind: 'status', status: 500, probability: 0.05 },
  { kind: 'status', status: 503, probability: 0.03 / 0.95 },
  { kind: 'rate_limit', retryAfterSec: 1, probability: 0.04 / 0.92 },
  { kind: 'drop_before', probability: 0.04 / 0.88 },
  { kind: 'drop_after', probability: 0.04 / 0.84 },
] as const;

const kindOf = (i: { metadata?: Record<string, unknown> | null }): string => {
  const type = i.metadata?.type;
  return typeof type === 'string' ? type : 'human';
};
const log = (m: string): void => void process.stderr.write(`[soak] ${m}\n`);

async function main(): Promise<number> {
  const w: World = await makeWorld({
    realtime: true,
    activeMs: 1000,
    idleMs: 1000,
    backoffMaxMs: 4000,
    maxAgents: THREADS,
    emulator: { seed: SEED },
    scenario: {
      markers: {
        ASK: { steps: [{ tool: { name: 'Bash', input: { command: 'make check' } } }, { text: 'approved and ran' }] },
      },
    },
  });
  const ref: SessionTuple = w.sessions[0];
  const aliases = Array.from({ length: THREADS }, (_, i) => `conv${i}`);
  const worker = startWorkerProcess(w);
  const random = rng(SEED);
  const posted = new Map<string, string[]>(aliases.map((a) => [a, []]));
  const answered = new Set<string>();
  try {
    for (const a of aliases) {
      w.emu.control.uploadObject(w.human.user_id, ref, a, {
        type: 'thread',
        thread: { attributes: { name: a }, metadata: {} },
      });
      w.handoff(ref, a);
    }
    await waitUntil(
      () =>
        aliases.every((a) => {
          const v = w.emu.control.getObject(ref, a)?.value as
            { thread?: { metadata?: { instance?: { state?: string } } } } | undefined;
          return v?.thread?.metadata?.instance?.state === 'active';
        }),
      'threads active',
      60_000,
      100,
    );
    log(`${THREADS} threads active; faults on for ${MINUTES} min (seed ${SEED})`);

    // Faults: `times` huge so `remaining` counts firings. Latency spikes on top (they slow, not fail).
    for (const f of FAULTS) w.emu.control.addFault({ command: '*', ...f, times: BIG });
    w.emu.control.addFault({ command: '*', kind: 'latency', latencyMs: 600, probability: 0.05, times: BIG });
    const faultRules = FAULTS.length + 1;
    let realtimeDrops = 0;

    const endAt = Date.now() + MINUTES * 60_000;
    const nextPost = new Map(aliases.map((a) => [a, Date.now() + random() * 2000]));
    let nextDrop = Date.now() + 5000 + random() * 10_000;
    let k = 0;
    while (Date.now() < endAt) {
      const now = Date.now();
      for (const a of aliases) {
        if (now < nextPost.get(a)!) continue;
        const tag = `${a}-m${posted.get(a)!.length}`;
        const ask = random() < 0.25;
        w.say(ref, a, `${tag}${ask ? ' ASK' : ''}`);
        posted.get(a)!.push(tag);
        nextPost.set(a, now + 1000 + random() * 3000);
        k++;
      }
      // The human answers every open prompt "yes" in its thread.
      for (const a of aliases) {
        for (const it of items(w, ref, a)) {
          if (kindOf(it) !== 'pending_prompt') continue;
          const id = String((it.metadata?.prompt as { id?: string } | undefined)?.id);
          if (answered.has(id)) continue;
          answered.add(id);
          w.say(ref, a, 'yes');
        }
      }
      if (now >= nextDrop) {
        w.emu.control.dropRealtime();
        realtimeDrops++;
        nextDrop = now + 5000 + random() * 10_000;
      }
      await sleep(100);
    }
    const fired = w.emu.control.faults().reduce((n, f) => n + (BIG - (f.remaining ?? BIG)), 0);
    const requests = w.emu.control.counters().requests;
    w.emu.control.clearFaults();
    log(
      `posting stopped: ${k} human messages; ${fired} faults fired over ${requests} requests, ${realtimeDrops} realtime drops; draining…`,
    );

    // Drain: every posted message delivered, every turn ended, every prompt answered.
    const delivered = async (): Promise<boolean> => {
      for (const a of aliases) {
        for (const it of items(w, ref, a)) {
          if (kindOf(it) !== 'pending_prompt') continue;
          const id = String((it.metadata?.prompt as { id?: string } | undefined)?.id);
          if (!answered.has(id)) {
            answered.add(id);
            w.say(ref, a, 'yes');
          }
        }
      }
      const stdin = await stdinTurns(w);
      return aliases.every((a) => {
        const last = posted.get(a)!.at(-1);
        if (!last) return true;
        const turnsWith = stdin.filter((s) => s.includes(`${last}`)).length;
        const its = items(w, ref, a);
        const lastTurnEnd = its.findLastIndex((i) => kindOf(i) === 'turn_end');
        const lastHuman = its.findLastIndex((i) => kindOf(i) === 'human');
        return turnsWith >= 1 && lastTurnEnd > lastHuman;
      });
    };
    await waitUntil(delivered, 'drain', 90_000, 500).catch((e) => log(String((e as Error).message)));
    await sleep(2000);

    // ---- checks
    const stdin = await stdinTurns(w);
    let humanDup = 0;
    let humanLost = 0;
    let humanOrder = 0;
    let asAnswer = 0;
    for (const a of aliases) {
      const tags = posted.get(a)!;
      // §9.2: the first item after a pending_prompt answers it, whatever it says; such a message is consumed
      // by the prompt (its text is the deny message the agent sees), not given as a turn.
      const answers = items(w, ref, a)
        .filter((i) => kindOf(i) === 'pending_prompt_resolved')
        .map((i) => JSON.stringify(i.metadata?.answer ?? ''));
      let lastIndex = -1;
      for (const tag of tags) {
        const hits = stdin.map((s, i) => [s, i] as const).filter(([s]) => new RegExp(`\\b${tag}\\b`).test(s));
        const answered = answers.filter((x) => new RegExp(`\\b${tag}\\b`).test(x)).length;
        if (hits.length === 0 && answered === 1) {
          asAnswer++;
          continue;
        }
        if (hits.length + answered > 1) humanDup += hits.length + answered - 1;
        if (hits.length === 0) humanLost++;
        if (hits.length && hits[0][1] < lastIndex) humanOrder++;
        if (hits.length) lastIndex = hits[0][1];
      }
    }
    let emitted = 0;
    let stored = 0;
    let lost = 0;
    let dup = 0;
    let order = 0;
    const ids = new Map<string, number>();
    for (const a of [...aliases, 'worker']) {
      for (const it of items(w, ref, a)) {
        const id = it.metadata?.emission_id;
        if (typeof id === 'string') ids.set(id, (ids.get(id) ?? 0) + 1);
      }
    }
    const idDups = [...ids.values()].filter((n) => n > 1).reduce((s, n) => s + n - 1, 0);
    for (const a of aliases) {
      const out: string[] = [];
      for (const r of await threadLog(w, ref, a)) {
        if (r.dir !== 'stdout' || typeof r.line !== 'string' || !r.line.includes('"assistant"')) continue;
        const msg = JSON.parse(r.line) as { message?: { content?: Array<{ type: string; text?: string }> } };
        for (const b of msg.message?.content ?? []) if (b.type === 'text' && b.text?.trim()) out.push(b.text);
      }
      const got = items(w, ref, a)
        .filter((i) => kindOf(i) === 'text')
        .map((i) => i.content[0]?.text ?? '');
      emitted += out.length;
      stored += got.length;
      const counts = new Map<string, number>();
      for (const t of out) counts.set(t, (counts.get(t) ?? 0) + 1);
      for (const t of got) counts.set(t, (counts.get(t) ?? 0) - 1);
      for (const n of counts.values()) {
        if (n > 0) lost += n;
        if (n < 0) dup += -n;
      }
      if (got.join('\u0000') !== out.slice(0, got.length).join('\u0000') && lost === 0 && dup === 0) order++;
    }
    const prompts = aliases.flatMap((a) => items(w, ref, a).filter((i) => kindOf(i) === 'pending_prompt'));
    const resolved = aliases.flatMap((a) =>
      items(w, ref, a).filter((i) => kindOf(i) === 'pending_prompt_resolved' && i.metadata?.resolution === 'answered'),
    );
    const failed = items(w, ref, 'worker').filter((i) => kindOf(i) === 'thread_failed');
    const stderr = worker.stderr();
    const stacks = /\n\s+at \S|\\n\s+at \S/.test(stderr);

    const totals = {
      minutes: MINUTES,
      threads: THREADS,
      seed: SEED,
      human_messages: k,
      human_delivered_once: k - humanLost - humanDup - asAnswer,
      human_as_prompt_answer: asAnswer,
      human_lost: humanLost,
      human_duplicated: humanDup,
      human_out_of_order: humanOrder,
      agent_texts_emitted: emitted,
      agent_texts_stored: stored,
      agent_texts_lost: lost,
      agent_texts_duplicated: dup,
      threads_out_of_order: order,
      emission_ids: ids.size,
      emission_id_duplicates: idDups,
      prompts_posted: prompts.length,
      prompts_answered: resolved.length,
      thread_failures: failed.length,
      api_requests: requests,
      faults_injected: fired,
      fault_rules: faultRules,
      realtime_drops: realtimeDrops,
      stack_traces_on_stderr: stacks,
    };
    const ok =
      humanLost === 0 &&
      humanDup === 0 &&
      humanOrder === 0 &&
      lost === 0 &&
      dup === 0 &&
      order === 0 &&
      idDups === 0 &&
      prompts.length === resolved.length &&
      failed.length === 0 &&
      !stacks;
    process.stdout.write(
      `${Object.entries(totals)
        .map(([key, v]) => `${key.padEnd(26)} ${String(v)}`)
        .join('\n')}\nresult                     ${ok ? 'PASS' : 'FAIL'}\n`,
    );
    if (failed.length) process.stdout.write(`failures: ${JSON.stringify(failed.map((f) => f.metadata?.error))}\n`);
    return ok ? 0 : 1;
  } finally {
    await worker.stop();
    await w.close();
  }
}

/** Every user turn the fake agents received (stdin records), in order, as text. */
async function stdinTurns(w: World): Promise<string[]> {
  const text = await readFile(w.recordFile, 'utf8').catch(() => '');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"kind":"stdin"') || !line.includes('\\"type\\":\\"user\\"')) continue;
    const r = JSON.parse(line) as { line: string };
    const c = (JSON.parse(r.line) as { message?: { content?: unknown } }).message?.content;
    out.push(typeof c === 'string' ? c : JSON.stringify(c));
  }
  return out;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`soak failed: ${String(e)}\n`);
    process.exit(1);
  },
);
