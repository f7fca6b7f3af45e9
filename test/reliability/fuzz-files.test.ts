/**
 * Fuzzed local files, in-process, high count: every reader of config.yaml, credentials.yaml, identity.yaml,
 * instance.yaml, thread.yaml and section.yaml gets FUZZ_CASES mutants each (seeded; the seed is in the test
 * name). Property: the reader returns a valid value or throws a WorkerError with the documented code — never
 * another exception — and never changes a user-owned file; a corrupt thread.yaml / section.yaml is moved aside
 * with its bytes intact, never overwritten. The same files through the real CLI: fuzz-cli.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { isWorkerError } from '../../main/core/errors';
import { loadConfigFile } from '../../main/core/state/config';
import { loadCredentials, loadIdentity } from '../../main/core/preflight';
import { acquireInstanceLock, readInstanceFile } from '../../main/core/state/lock';
import { StatePaths } from '../../main/core/state/paths';
import { SectionStore, ThreadStore } from '../../main/core/harness/local-state';
import { tempDir } from '../support/process';
import { BASES, SESSION } from './bases';
import { FUZZ_CASES, FUZZ_SEED, describeMutant, mutate, seededRandom, sha256, type Mutant } from './support';

type Target = keyof typeof BASES;

/** Runs `check` on FUZZ_CASES mutants of one base, each in its own fresh folder. */
async function fuzz(
  target: Target,
  seed: number,
  check: (dir: string, m: Mutant, label: string) => Promise<void>,
): Promise<Record<string, number>> {
  const tmp = await tempDir(`bhw-fuzz-${target}-`);
  const outcomes: Record<string, number> = {};
  try {
    for (let i = 0; i < FUZZ_CASES; i++) {
      const m = mutate(seededRandom(seed + i), BASES[target]);
      const dir = join(tmp.path, String(i));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const label = describeMutant(seed, i, m);
      try {
        await check(dir, m, label);
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.fail(`${label}: unexpected exception ${String(e)}`);
      }
    }
  } finally {
    await tmp.cleanup();
  }
  return outcomes;
}

/** The outcome of one reader call: a value, or the code of a WorkerError (anything else fails the case). */
async function outcome(label: string, fn: () => Promise<unknown>, codes: string[]): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    assert.ok(isWorkerError(e), `${label}: not a WorkerError: ${String(e)}`);
    assert.ok(codes.includes(e.code), `${label}: code ${e.code} not in ${codes.join(', ')}`);
    assert.ok(!/\n\s+at /.test(e.message), `${label}: stack in message`);
    assert.ok(!e.message.includes('bhk_secretsecretsecret'), `${label}: the API key leaked into a message`);
    return e.code;
  }
}

function tally(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

test(
  `fuzz config.yaml through loadConfigFile: a config code or a valid config, file unchanged (seed ${FUZZ_SEED}, ${FUZZ_CASES} cases)`,
  { timeout: 60_000 },
  async () => {
    const counts: Record<string, number> = {};
    await fuzz('config', FUZZ_SEED, async (dir, m, label) => {
      const path = join(dir, 'config.yaml');
      await writeFile(path, m.bytes);
      tally(
        counts,
        await outcome(label, () => loadConfigFile(path), [
          'INVALID_CONFIG',
          'UNKNOWN_JOB_TYPE',
          'MISSING_SESSION_KEYS',
          'DUPLICATE_SECTION_TARGET',
        ]),
      );
      assert.equal(sha256(await readFile(path)), sha256(m.bytes), `${label}: config.yaml changed`);
    });
    assert.ok(
      (counts.INVALID_CONFIG ?? 0) > 0 && (counts.ok ?? 0) > 0,
      `both outcomes seen: ${JSON.stringify(counts)}`,
    );
  },
);

test(
  `fuzz credentials.yaml and identity.yaml through preflight steps 1–2 (seed ${FUZZ_SEED + 1}, ${FUZZ_CASES} cases each)`,
  { timeout: 60_000 },
  async () => {
    const counts: Record<string, number> = {};
    await fuzz('credentials', FUZZ_SEED + 1, async (dir, m, label) => {
      const paths = new StatePaths(dir);
      await writeFile(paths.credentials, m.bytes, { mode: 0o600 });
      await chmod(paths.credentials, 0o600);
      tally(counts, `credentials:${await outcome(label, () => loadCredentials(paths), ['CREDENTIALS_NOT_FOUND'])}`);
      assert.equal(sha256(await readFile(paths.credentials)), sha256(m.bytes), `${label}: credentials.yaml changed`);
    });
    await fuzz('identity', FUZZ_SEED + 2, async (dir, m, label) => {
      const paths = new StatePaths(dir);
      await writeFile(paths.identity, m.bytes);
      tally(counts, `identity:${await outcome(label, () => loadIdentity(paths), ['IDENTITY_NOT_FOUND'])}`);
      assert.equal(sha256(await readFile(paths.identity)), sha256(m.bytes), `${label}: identity.yaml changed`);
    });
    assert.ok(counts['credentials:ok'] && counts['credentials:CREDENTIALS_NOT_FOUND'], JSON.stringify(counts));
    assert.ok(counts['identity:ok'] && counts['identity:IDENTITY_NOT_FOUND'], JSON.stringify(counts));
  },
);

test(
  `fuzz instance.yaml (the lock): read never throws, acquire takes over a garbled or dead lock (seed ${FUZZ_SEED + 3}, ${FUZZ_CASES} cases)`,
  { timeout: 60_000 },
  async () => {
    const counts: Record<string, number> = {};
    await fuzz('instance', FUZZ_SEED + 3, async (dir, m, label) => {
      const paths = new StatePaths(dir);
      await writeFile(paths.instance, m.bytes);
      const state = await readInstanceFile(paths.instance);
      tally(counts, `read:${state.kind}`);
      // Taking the lock costs two fsyncs: every third case is enough to cover the outcomes.
      if (Number(dir.split('/').pop()) % 3 !== 0) return;
      let lock: Awaited<ReturnType<typeof acquireInstanceLock>> | undefined;
      const code = await outcome(label, async () => {
        lock = await acquireInstanceLock(paths);
      }, ['WORKER_ALREADY_RUNNING']);
      tally(counts, `acquire:${code}`);
      if (code === 'WORKER_ALREADY_RUNNING') {
        // Only a parsable lock naming a live pid may refuse; the file is then left exactly as it was.
        assert.ok(state.kind === 'held' && state.alive, `${label}: refused on a lock that is not live`);
        assert.equal(sha256(await readFile(paths.instance)), sha256(m.bytes), `${label}: a live lock was touched`);
      }
      await lock?.release();
    });
    assert.ok(counts['read:invalid'] && counts['acquire:ok'], JSON.stringify(counts));
  },
);

test(
  `fuzz thread.yaml: a valid record or STATE_FILE_INVALID; a corrupt file is moved aside intact, never overwritten (seed ${FUZZ_SEED + 4}, ${FUZZ_CASES} cases)`,
  { timeout: 60_000 },
  async () => {
    const counts: Record<string, number> = {};
    await fuzz('thread', FUZZ_SEED + 4, async (dir, m, label) => {
      const path = join(dir, 'thread.yaml');
      await writeFile(path, m.bytes);
      const { store, error, movedTo } = await ThreadStore.open(path, 'job', () => '2026-06-06T11:00:00.000Z');
      if (!error) {
        tally(counts, 'ok');
        assert.equal(store.existed, true);
        assert.equal(sha256(await readFile(path)), sha256(m.bytes), `${label}: a valid thread.yaml changed on open`);
        return;
      }
      tally(counts, 'invalid');
      assert.ok(isWorkerError(error) && error.code === 'STATE_FILE_INVALID', `${label}: ${String(error)}`);
      assert.equal(store.existed, false, `${label}: a corrupt file must read as missing`);
      assert.ok(movedTo, `${label}: not moved aside`);
      assert.equal(sha256(await readFile(movedTo)), sha256(m.bytes), `${label}: the moved-aside bytes differ`);
      // The runner's next write creates a fresh file; the user's bytes stay next to it.
      await store.update((f) => {
        f.agent.state = 'failed';
      });
      assert.deepEqual((await readdir(dir)).sort(), ['thread.yaml', movedTo.split('/').pop()!].sort());
    });
    assert.ok(counts.ok && counts.invalid, JSON.stringify(counts));
  },
);

test(
  `fuzz section.yaml: never throws; a corrupt file is reported and moved aside intact (seed ${FUZZ_SEED + 5}, ${FUZZ_CASES} cases)`,
  { timeout: 60_000 },
  async () => {
    const counts: Record<string, number> = {};
    await fuzz('section', FUZZ_SEED + 5, async (dir, m, label) => {
      const path = join(dir, 'section.yaml');
      await writeFile(path, m.bytes);
      const reports: Array<{ message: string; movedTo: string | null }> = [];
      const store = await SectionStore.open(path, { name: 'main', session: SESSION }, (message, movedTo) =>
        reports.push({ message, movedTo }),
      );
      assert.equal(store.value.session.session_id, 'ses_1', `${label}: the identity comes from the config`);
      if (reports.length === 0) {
        tally(counts, 'ok');
        assert.equal(sha256(await readFile(path)), sha256(m.bytes), `${label}: a valid section.yaml changed on open`);
        return;
      }
      tally(counts, 'invalid');
      assert.equal(reports.length, 1);
      assert.ok(reports[0].movedTo, `${label}: not moved aside`);
      assert.equal(
        sha256(await readFile(reports[0].movedTo)),
        sha256(m.bytes),
        `${label}: the moved-aside bytes differ`,
      );
    });
    assert.ok(counts.ok && counts.invalid, JSON.stringify(counts));
  },
);
