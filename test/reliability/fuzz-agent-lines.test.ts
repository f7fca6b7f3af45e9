/**
 * Fuzzed agent stdout lines through the adapters' line parsers (in-process, no process): every captured
 * stdout line of test/fixtures/agents is mutated (wrong field types at random paths, removed fields, unknown types,
 * truncated JSON, non-JSON, huge values) and fed to a started ClaudeSession / CodexSession. Property: the
 * parser never throws, a bad line is logged as skipped (never a crash), and every event it emits becomes an
 * outbound item (items.ts + the size budget) without an exception. The same through a running worker and the
 * fakes' `garbage`/`raw`/`unknown` steps: fuzz-server.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClaudeSession } from '../../main/core/agents/claude';
import { CodexSession } from '../../main/core/agents/codex';
import { ThreadLog } from '../../main/core/agents/thread-log';
import type { AgentEvent, AgentStartOptions } from '../../main/core/agents/types';
import { itemFromAgentEvent } from '../../main/core/harness/outbound/items';
import { fitToBudget } from '../../main/core/harness/outbound/budget';
import { silentLogger, type Logger } from '../../main/core/log';
import { FIXTURES, loadFixture } from '../agents/replay';
import { tempDir } from '../support/process';
import { FUZZ_SEED, ODD_VALUES, int, jsonPaths as paths, pick, seededRandom, setAt, type Rng } from './support';

const CASES = Number(process.env.BHW_FUZZ_CASES ?? 300) * 2;

/** Every stdout message of the fixtures of one agent (the lines the real CLI printed). */
function corpus(agent: 'claude' | 'codex'): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const f of readdirSync(join(FIXTURES, agent)).filter((n) => n.endsWith('.jsonl'))) {
    for (const rec of loadFixture(`${agent}/${f}`)) if (rec.dir === 'stdout' && rec.msg) out.push(rec.msg);
  }
  return out;
}

/** One fuzzed stdout line from a real one. */
export function mutateLine(rng: Rng, msg: Record<string, unknown>): { op: string; line: string } {
  const copy = structuredClone(msg);
  const op = pick(rng, [
    'retype',
    'retype',
    'retype',
    'remove',
    'unknown_type',
    'truncate',
    'garbage',
    'non_object',
    'deep',
    'multi',
  ]);
  switch (op) {
    case 'retype':
    case 'remove':
    case 'multi': {
      for (let n = op === 'multi' ? int(rng, 2, 5) : 1; n > 0; n--) {
        const ps = paths(copy);
        if (!ps.length) break;
        setAt(
          copy,
          pick(rng, ps),
          structuredClone(pick(rng, ODD_VALUES)),
          op === 'remove' || (op === 'multi' && rng() < 0.3),
        );
      }
      return { op, line: JSON.stringify(copy) };
    }
    case 'unknown_type':
      if ('type' in copy)
        copy.type = pick(rng, ['mystery', 'assistant ', 'ASSISTANT', '', 'result', 'control_request']);
      if ('method' in copy) copy.method = pick(rng, ['item/unknown', 'turn/completed', 'item/completed', '', 'x/y']);
      if ('subtype' in copy) copy.subtype = pick(rng, ['nope', 'init', 'success', 'error_max_turns', 'can_use_tool']);
      return { op, line: JSON.stringify(copy) };
    case 'truncate': {
      const s = JSON.stringify(copy);
      return { op, line: s.slice(0, int(rng, 0, s.length - 1)) };
    }
    case 'garbage':
      return {
        op,
        line: pick(rng, [
          '',
          'not json',
          '{',
          '}',
          '[1,2',
          'null',
          '"str"',
          '\u0000\u0001',
          'Error: boom\n    at x (y:1:2)',
          '\ufeff{}',
        ]),
      };
    case 'non_object':
      return { op, line: JSON.stringify(pick(rng, [[copy], 'x', 42, null, true])) };
    case 'deep': {
      // Built as text: a tree this deep overflows JSON.stringify (JSON.parse copes), so it lands in a random
      // place of the line as a marker that is then replaced by the nested brackets.
      const n = int(rng, 100, 5000);
      const ps = paths(copy);
      if (ps.length) setAt(copy, pick(rng, ps), '__DEEP__', false);
      else copy.extra = '__DEEP__';
      return { op, line: JSON.stringify(copy).replace('"__DEEP__"', '['.repeat(n) + ']'.repeat(n)) };
    }
  }
  return { op, line: JSON.stringify(copy) };
}

function captureLogger(skips: string[]): Logger {
  const logger: Logger = {
    ...silentLogger,
    warn: (event: string) => void skips.push(event),
    child: () => logger,
  };
  return logger;
}

async function fuzzAdapter(agent: 'claude' | 'codex', seed: number): Promise<Record<string, number>> {
  const tmp = await tempDir(`bhw-fuzz-lines-${agent}-`);
  const source = corpus(agent);
  const counts: Record<string, number> = {};
  const skips: string[] = [];
  const threadLog = new ThreadLog(join(tmp.path, 'thread.log'));
  const options: AgentStartOptions = {
    executable: '/nonexistent/agent',
    cwd: tmp.path,
    permissions: 'approval',
    resumeSessionId: null,
    logFile: join(tmp.path, 'thread.log'),
    threadLog,
    logger: captureLogger(skips),
  };
  // One long-lived session (state carries over between lines, as in a real run), re-created every 50 lines.
  let session: ClaudeSession | CodexSession | null = null;
  const events: AgentEvent[] = [];
  try {
    for (let i = 0; i < CASES; i++) {
      if (i % 50 === 0) {
        session = agent === 'claude' ? new ClaudeSession(options) : new CodexSession(options);
        session.onEvent((e) => events.push(e));
        session.attachReplay(() => undefined, true);
      }
      const rng = seededRandom(seed + i);
      const { op, line } = mutateLine(rng, pick(rng, source));
      const label = `${agent} seed ${seed} case ${i} op ${op}: ${line.slice(0, 200)}`;
      events.length = 0;
      try {
        session!.handleLine(line);
        // Answering requests (Codex) and prompt bookkeeping may continue on the microtask queue.
        await new Promise((r) => setImmediate(r));
      } catch (e) {
        assert.fail(`${label}: handleLine threw ${String(e)}`);
      }
      for (const event of events) {
        try {
          const item = itemFromAgentEvent(event);
          if (item) {
            const fitted = fitToBudget(item).item;
            assert.equal(typeof fitted.metadata?.type, 'string', `${label}: item without metadata.type`);
            assert.ok(
              Array.isArray(fitted.content) && typeof fitted.content[0]?.text === 'string',
              `${label}: item without a text brief`,
            );
            JSON.stringify(fitted);
          }
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          assert.fail(`${label}: event ${event.type} → item threw ${String(e)}`);
        }
        counts[`event:${event.type}`] = (counts[`event:${event.type}`] ?? 0) + 1;
      }
      counts[`op:${op}`] = (counts[`op:${op}`] ?? 0) + 1;
    }
  } finally {
    threadLog.close();
    await tmp.cleanup();
  }
  counts.skipped_logged = skips.length;
  return counts;
}

for (const [agent, seed] of [
  ['claude', FUZZ_SEED + 100],
  ['codex', FUZZ_SEED + 200],
] as const) {
  test(
    `fuzz ${agent} stdout lines through the adapter's parser: no exception, bad lines skipped and logged, every event becomes an item (seed ${seed}, ${CASES} lines)`,
    { timeout: 60_000 },
    async (t) => {
      const counts = await fuzzAdapter(agent, seed);
      t.diagnostic(JSON.stringify(counts));
      assert.ok(counts.skipped_logged > 0, 'some lines were reported as skipped');
      assert.ok(
        Object.keys(counts).some((k) => k.startsWith('event:')),
        'some mutants still produced events',
      );
    },
  );
}
