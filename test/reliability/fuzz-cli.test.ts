/**
 * Fuzzed local files through the real CLI (`dist/cli.js` child processes, a temp --home, the emulator on
 * 127.0.0.1): `start`, `whoami` and `status` over mutated config.yaml, credentials.yaml, identity.yaml,
 * instance.yaml, thread.yaml and section.yaml. Property: exit 0 or the named code's exit status with exactly one
 * JSON error line; no stack trace or raw exception on stdout/stderr; config.yaml, credentials.yaml and
 * identity.yaml byte-identical afterwards. A corrupt thread.yaml / section.yaml met by a running worker is
 * logged (thread_yaml_invalid / section_yaml_invalid, STATE_FILE_INVALID) and moved aside intact.
 *
 * Fewer cases than the in-process readers (fuzz-files.test.ts): each one is a process (~0.5 s). A mutated
 * credentials.yaml whose URLs leave 127.0.0.1 is only given to `whoami` (which never connects).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { startEmulator } from '../../main/emulator/index';
import { CredentialsFile } from '../../main/core/state/schemas';
import { readYamlFile } from '../../main/core/state/yaml-file';
import { StatePaths } from '../../main/core/state/paths';
import { FAKES, tempDir, type CliResult } from '../support/process';
import { BASES } from './bases';
import {
  FUZZ_SEED,
  assertNoRawException,
  describeMutant,
  hashFiles,
  logLines,
  mutate,
  runCliPool,
  runStart,
  seededRandom,
  startWorker,
  type Mutant,
} from './support';

/** Preflight codes and their exit statuses (protocol §2); 1 = a plain failure of whoami/status, never INTERNAL_ERROR. */
const STATUSES: Record<string, number> = {
  CREDENTIALS_NOT_FOUND: 10,
  INSECURE_CREDENTIALS_PERMISSIONS: 11,
  IDENTITY_NOT_FOUND: 12,
  USER_IDENTITY_MISMATCH: 13,
  AUTH_INVALID: 14,
  WORKER_ALREADY_RUNNING: 15,
  INVALID_CONFIG: 16,
  UNKNOWN_JOB_TYPE: 17,
  MISSING_SESSION_KEYS: 18,
  DUPLICATE_SECTION_TARGET: 19,
  API_NETWORK_ERROR: 20,
};

function checkResult(label: string, r: CliResult & { started?: boolean }, allowed: string[]): string {
  assertNoRawException(r.stdout, `${label} stdout`);
  assertNoRawException(r.stderr, `${label} stderr`);
  if (r.status === 0) return r.started === false ? 'exit0' : 'ran';
  const errors = logLines(r.stderr).json.filter((l) => l.level === 'error' && l.code && l.remediation !== undefined);
  assert.equal(errors.length, 1, `${label}: exactly one error line, stderr: ${r.stderr.slice(0, 2000)}`);
  const code = String(errors[0].code);
  assert.ok(allowed.includes(code), `${label}: code ${code} (exit ${r.status}) not in ${allowed.join(', ')}`);
  if (STATUSES[code] !== undefined) assert.equal(r.status, STATUSES[code], `${label}: exit status of ${code}`);
  return code;
}

async function world(t: { after(fn: () => Promise<void>): void }) {
  const emu = await startEmulator();
  const tmp = await tempDir('bhw-fuzzcli-');
  t.after(async () => {
    await emu.close();
    await tmp.cleanup();
  });
  const worker = emu.control.createUser({ name: 'Worker', email: 'w@example.test' });
  const human = emu.control.createUser({ name: 'Human', email: 'h@example.test' });
  const ref = emu.control.createSession({ members: [worker.user_id, human.user_id] });
  const files = {
    config: YAML.stringify({
      polling: { interval_idle_ms: 100, interval_active_ms: 100, backoff_max_ms: 500 },
      agents: { claude_code: { executable: join(FAKES, 'claude') }, codex: { executable: join(FAKES, 'codex') } },
      sections: [{ name: 'main', job_type: 'session_agent_harness', session: ref }],
    }),
    credentials: YAML.stringify({ api: { key: worker.api_key, url: emu.apiUrl, realtime_url: emu.realtimeUrl } }),
    identity: YAML.stringify({
      user: {
        user_id: worker.user_id,
        name: 'Worker',
        email: 'w@example.test',
        recorded_at: '2026-06-06T10:00:00.000Z',
      },
    }),
  };
  let n = 0;
  /** A fresh, logged-in home with the valid files, one of them replaced by `override`. */
  const home = async (
    override: Partial<Record<'config' | 'credentials' | 'identity', Buffer>> = {},
  ): Promise<{ home: string; paths: StatePaths; userFiles: string[] }> => {
    const h = join(tmp.path, `home${n++}`);
    await mkdir(h, { recursive: true, mode: 0o700 });
    const paths = new StatePaths(h);
    await writeFile(paths.config, override.config ?? files.config);
    await writeFile(paths.credentials, override.credentials ?? files.credentials, { mode: 0o600 });
    await chmod(paths.credentials, 0o600);
    await writeFile(paths.identity, override.identity ?? files.identity);
    return { home: h, paths, userFiles: [paths.config, paths.credentials, paths.identity] };
  };
  return { emu, ref, worker, human, files, home, tmp };
}

function mutants(seed: number, base: string, count: number): Array<{ m: Mutant; label: string }> {
  return Array.from({ length: count }, (_, i) => {
    const m = mutate(seededRandom(seed + i), base);
    return { m, label: describeMutant(seed, i, m) };
  });
}

/** Runs `start` over mutants two at a time; checks the outcome and that the user's files are untouched. */
async function startEach(
  cases: Array<{ label: string; home: string; userFiles: string[] }>,
  allowed: string[],
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++];
      const before = hashFiles(c.userFiles);
      const r = await runStart(c.home);
      const code = checkResult(`start ${c.label}`, r, allowed);
      counts[code] = (counts[code] ?? 0) + 1;
      assert.deepEqual(hashFiles(c.userFiles), before, `start ${c.label}: a user file changed`);
    }
  };
  await Promise.all([lane(), lane()]);
  return counts;
}

test(
  `CLI start over mutated config.yaml: a config code or a clean run; no stack; files unchanged (seed ${FUZZ_SEED + 10}, 10 cases)`,
  { timeout: 90_000 },
  async (t) => {
    const w = await world(t);
    const cases = [];
    for (const { m, label } of mutants(FUZZ_SEED + 10, w.files.config, 10))
      cases.push({ label, ...(await w.home({ config: m.bytes })) });
    const counts = await startEach(cases, [
      'INVALID_CONFIG',
      'UNKNOWN_JOB_TYPE',
      'MISSING_SESSION_KEYS',
      'DUPLICATE_SECTION_TARGET',
    ]);
    t.diagnostic(`outcomes: ${JSON.stringify(counts)}`);
  },
);

/** True when every URL a credentials file names (if it parses at all) stays on 127.0.0.1. */
async function loopbackOnly(path: string): Promise<boolean> {
  const creds = await readYamlFile(path, CredentialsFile).catch(() => undefined);
  if (!creds) return true; // refused at preflight step 1, before any connection
  const hosts = [creds.api.url, creds.api.realtime_url].filter(Boolean).map((u) => {
    try {
      return new URL(u!).hostname;
    } catch {
      return 'unparsable';
    }
  });
  return hosts.every((h) => h === '127.0.0.1');
}

test(
  `CLI whoami + start over mutated credentials.yaml and identity.yaml (seeds ${FUZZ_SEED + 20}, ${FUZZ_SEED + 30}; 8 + 6 cases)`,
  { timeout: 120_000 },
  async (t) => {
    const w = await world(t);
    const whoami: Array<{ args: string[]; options: { home: string }; meta: { label: string; userFiles: string[] } }> =
      [];
    const starts: Array<{ label: string; home: string; userFiles: string[] }> = [];
    for (const [kind, seed, count] of [
      ['credentials', FUZZ_SEED + 20, 8],
      ['identity', FUZZ_SEED + 30, 6],
    ] as const) {
      for (const { m, label } of mutants(seed, w.files[kind], count)) {
        const h = await w.home({ [kind]: m.bytes });
        whoami.push({
          args: ['whoami', '--json'],
          options: { home: h.home },
          meta: { label: `${kind} ${label}`, userFiles: h.userFiles },
        });
        if (kind === 'identity' || (await loopbackOnly(h.paths.credentials)))
          starts.push({ label: `${kind} ${label}`, ...h });
      }
    }
    const before = whoami.map((j) => hashFiles(j.meta.userFiles));
    const results = await runCliPool(whoami);
    results.forEach((r, i) => {
      checkResult(`whoami ${r.meta.label}`, r.result, ['IDENTITY_NOT_FOUND']);
      assert.deepEqual(hashFiles(r.meta.userFiles), before[i], `whoami ${r.meta.label}: a user file changed`);
      assert.ok(
        !r.result.stdout.includes(w.worker.api_key) && !r.result.stderr.includes(w.worker.api_key),
        'the key never shows',
      );
    });
    const counts = await startEach(starts, [
      'CREDENTIALS_NOT_FOUND',
      'IDENTITY_NOT_FOUND',
      'USER_IDENTITY_MISMATCH',
      'AUTH_INVALID',
      'API_NETWORK_ERROR',
    ]);
    t.diagnostic(
      `start outcomes: ${JSON.stringify(counts)}; ${whoami.length - starts.length} credentials mutant(s) leaving 127.0.0.1 were not started`,
    );
  },
);

test(
  `CLI status + start over a mutated instance.yaml (seed ${FUZZ_SEED + 40}, 5 cases)`,
  { timeout: 90_000 },
  async (t) => {
    const w = await world(t);
    const cases = [];
    for (const { m, label } of mutants(FUZZ_SEED + 40, BASES.instance, 5)) {
      const h = await w.home();
      await writeFile(h.paths.instance, m.bytes);
      cases.push({ label, ...h });
    }
    const status = await runCliPool(cases.map((c) => ({ args: ['status'], options: { home: c.home }, meta: c.label })));
    for (const r of status) checkResult(`status ${r.meta}`, r.result, []);
    await startEach(cases, ['WORKER_ALREADY_RUNNING']);
  },
);

test(
  `CLI status over mutated thread.yaml and section.yaml (seeds ${FUZZ_SEED + 50}, ${FUZZ_SEED + 60}; 6 cases each)`,
  { timeout: 90_000 },
  async (t) => {
    const w = await world(t);
    const jobs = [];
    for (const [kind, seed] of [
      ['thread', FUZZ_SEED + 50],
      ['section', FUZZ_SEED + 60],
    ] as const) {
      for (const { m, label } of mutants(seed, BASES[kind], 6)) {
        const h = await w.home();
        const job = h.paths.job(w.ref.session_id);
        const path = kind === 'thread' ? job.threadYaml('job') : job.sectionYaml;
        await mkdir(join(path, '..'), { recursive: true });
        await writeFile(path, m.bytes);
        if (kind === 'thread') await writeFile(job.sectionYaml, BASES.section);
        jobs.push({
          args: ['status', '--json'],
          options: { home: h.home },
          meta: { label: `${kind} ${label}`, path, bytes: m.bytes },
        });
      }
    }
    for (const r of await runCliPool(jobs)) {
      checkResult(`status ${r.meta.label}`, r.result, []);
      assert.deepEqual(await readFile(r.meta.path), r.meta.bytes, `status ${r.meta.label}: status never writes`);
    }
  },
);

test(
  'a running worker meets a corrupt thread.yaml and section.yaml: named warnings, both moved aside intact, the thread fails AGENT_CRASHED',
  { timeout: 60_000 },
  async (t) => {
    const w = await world(t);
    const h = await w.home();
    const job = h.paths.job(w.ref.session_id);
    const threadBytes = Buffer.from('alias: job\nagent: {state: active, agent_session_id: [unclosed\n');
    const sectionBytes = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x3a, 0x0a]);
    await mkdir(join(job.threadYaml('job'), '..'), { recursive: true });
    await writeFile(job.threadYaml('job'), threadBytes);
    await writeFile(job.sectionYaml, sectionBytes);
    // The server says the thread is active (a previous run activated it): recovery needs the local record.
    w.emu.control.uploadObject(w.human.user_id, w.ref, 'job', {
      type: 'thread',
      thread: {
        attributes: { name: 'job' },
        metadata: {
          workspace: { work_folder: w.tmp.path },
          agent: { type: 'claude_code' },
          instance: { state: 'active' },
        },
      },
    });
    const before = hashFiles(h.userFiles);
    const proc = startWorker(h.home);
    t.after(() => proc.kill());
    const threadWarn = await proc.waitLog((l) => l.event === 'thread_yaml_invalid', 'thread_yaml_invalid warning');
    const sectionWarn = await proc.waitLog((l) => l.event === 'section_yaml_invalid', 'section_yaml_invalid warning');
    for (const [warn, bytes] of [
      [threadWarn, threadBytes],
      [sectionWarn, sectionBytes],
    ] as const) {
      assert.equal(warn.level, 'warning');
      assert.equal(warn.code, 'STATE_FILE_INVALID');
      assert.equal(typeof warn.moved_to, 'string', JSON.stringify(warn));
      assert.deepEqual(await readFile(String(warn.moved_to)), bytes, 'the user bytes are kept');
    }
    await proc.waitLog((l) => l.event === 'thread_failed' && l.code === 'AGENT_CRASHED', 'thread failed AGENT_CRASHED');
    const r = await proc.stop();
    assert.equal(r.status, 0, proc.stderr());
    assertNoRawException(proc.stderr(), 'worker stderr');
    assert.deepEqual(hashFiles(h.userFiles), before);
    const files = (await readdir(join(job.threadYaml('job'), '..'))).filter((f) => f.startsWith('thread.yaml'));
    assert.equal(files.length, 2, `a fresh thread.yaml next to the moved-aside one: ${files.join(', ')}`);
  },
);
