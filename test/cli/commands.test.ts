/** `whoami`, `status` and `reset` as real child processes (state root in a temp folder, emulator on loopback). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import YAML from 'yaml';
import { runCli } from '../support/process';
import { cliWorld, expectCode, ready, sectionConfig, writeConfig } from './helpers';
import { emptySnapshot } from '../../main/core/snapshot';

test('whoami: identity, API URL and state root; never the key; not logged in → IDENTITY_NOT_FOUND (12)', async (t) => {
  const w = await cliWorld(t);
  expectCode(await runCli(['whoami'], { home: w.home }), 'IDENTITY_NOT_FOUND', 12);
  await ready(w);
  const text = await runCli(['whoami'], { home: w.home });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`Worker Bot <bot@example\\.test> \\(${w.user.user_id}\\)`));
  assert.ok(text.stdout.includes(w.emu.apiUrl) && text.stdout.includes(w.home));
  assert.match(text.stdout, /Realtime:\s+off/);
  const json = await runCli(['whoami', '--json'], { home: w.home });
  const view = JSON.parse(json.stdout);
  assert.equal(view.user_id, w.user.user_id);
  assert.equal(view.api_url, w.emu.apiUrl);
  assert.equal(view.state_root, w.home);
  assert.equal(view.credentials, 'ok');
  for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) assert.ok(!out.includes(w.user.api_key));
});

test('status: from local files — no worker, stale lock, sections and threads with state/agent/session/error', async (t) => {
  const w = await cliWorld(t);
  await ready(
    w,
    sectionConfig([
      { name: 'main', ...w.ref },
      { name: 'later', org_id: 'o', blob_id: 'b', revision_id: 'r', session_id: 'ses_later' },
    ]),
  );
  const job = join(w.home, 'jobs', `session_agent_harness-${w.ref.session_id}`);
  await mkdir(join(job, 'threads', 'feature-a'), { recursive: true });
  await mkdir(join(job, 'threads', 'broken'), { recursive: true });
  await writeFile(
    join(job, 'section.yaml'),
    YAML.stringify({
      name: 'main',
      job_type: 'session_agent_harness',
      session: w.ref,
      attachment: {
        status: 'refused',
        attached_at: null,
        error: { code: 'SESSION_OWNED_BY_DIFFERENT_USER', message: 'owned by usr_x' },
      },
      events: { last_processed_at: null },
    }),
  );
  await writeFile(
    join(job, 'threads', 'feature-a', 'thread.yaml'),
    YAML.stringify({
      alias: 'feature-a',
      workspace: { work_folder: '/tmp', agent_type: 'claude_code' },
      agent: {
        state: 'failed',
        agent_session_id: 'sess-123',
        error: { code: 'AGENT_CRASHED', message: 'exit 1', at: '2026-01-01T00:00:00Z' },
      },
      updated_at: '2026-01-01T00:00:00Z',
    }),
  );
  await writeFile(join(job, 'threads', 'broken', 'thread.yaml'), 'alias: [');
  const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => dead.once('exit', r));
  await writeFile(
    join(w.home, 'instance.yaml'),
    YAML.stringify({
      instance: {
        instance_id: 'ins_OLD',
        pid: dead.pid,
        host: 'h',
        version: '0.1.0',
        started_at: '2026-01-01T00:00:00Z',
      },
    }),
  );
  w.emu.control.resetCounters();

  const r = await runCli(['status', '--json'], { home: w.home });
  assert.equal(r.status, 0, r.stderr);
  const view = JSON.parse(r.stdout);
  assert.equal(view.source, 'files');
  assert.equal(view.worker.running, false);
  assert.equal(view.worker.lock, 'stale');
  const main = view.sections.find((s: any) => s.name === 'main');
  assert.equal(main.attachment, 'refused');
  assert.equal(main.error.code, 'SESSION_OWNED_BY_DIFFERENT_USER');
  const a = main.threads.find((th: any) => th.alias === 'feature-a');
  assert.deepEqual(
    [a.state, a.agent_type, a.agent_session_id, a.last_error.code],
    ['failed', 'claude_code', 'sess-123', 'AGENT_CRASHED'],
  );
  assert.equal(main.threads.find((th: any) => th.alias === 'broken').state, 'unknown');
  assert.equal(main.last_known, true, 'read from the files of a worker that is not running');
  const later = view.sections.find((s: any) => s.name === 'later');
  assert.equal(later.attachment, 'not_started');
  assert.equal(later.last_known, false);
  assert.equal(view.next_step, null);

  const human = await runCli(['status'], { home: w.home });
  assert.equal(human.status, 0);
  assert.match(human.stdout, /Worker: not running \(stale lock/);
  assert.match(
    human.stdout,
    /Section main \(ses_\w+\): refused — last known \(worker not running\) — SESSION_OWNED_BY_DIFFERENT_USER/,
  );
  assert.match(human.stdout, /Section later \(ses_later\): not_started\n/);
  assert.match(human.stdout, /feature-a\s+failed\s+claude_code\s+sess-123\s+AGENT_CRASHED: exit 1/);
  assert.equal(w.emu.control.counters().requests, 0, 'status is local only');
});

test('status: a live worker pid with its snapshot.json shows the live view; an old snapshot does not', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  await writeFile(
    join(w.home, 'instance.yaml'),
    YAML.stringify({
      instance: {
        instance_id: 'ins_LIVE',
        pid: sleeper.pid,
        host: 'h',
        version: '0.1.0',
        started_at: '2026-01-01T00:00:00Z',
      },
    }),
  );
  const snap = {
    ...emptySnapshot(w.home, '0.1.0'),
    phase: 'running',
    instance_id: 'ins_LIVE',
    sections: [
      {
        id: 'sec-live',
        name: 'live-one',
        session: w.ref,
        attachment: 'attached',
        error: null,
        realtime: 'connected',
        threads: [
          {
            alias: 't1',
            state: 'active_turn',
            agent_type: 'codex',
            agent_session_id: 'th_1',
            work_folder: '/tmp',
            model: null,
            effort: null,
            permissions: 'approval',
            last_event: null,
            last_error: null,
            open_prompt_id: null,
            granted_rules: [],
            thread_log: '/x',
          },
        ],
      },
    ],
  };
  await writeFile(join(w.home, 'snapshot.json'), JSON.stringify(snap));
  const live = JSON.parse((await runCli(['status', '--json'], { home: w.home })).stdout);
  assert.equal(live.source, 'live');
  assert.equal(live.worker.running, true);
  assert.equal(live.sections[0].name, 'live-one');
  assert.equal(live.sections[0].threads[0].state, 'active_turn');
  assert.equal(live.sections[0].last_known, false);

  await writeFile(join(w.home, 'snapshot.json'), JSON.stringify({ ...snap, instance_id: 'ins_PREVIOUS' }));
  const files = JSON.parse((await runCli(['status', '--json'], { home: w.home })).stdout);
  assert.equal(files.source, 'files');
  assert.equal(files.worker.running, true);
});

test('reset: failed/completed → pending by read-modify-write; by name, session_id or job id', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  const human = w.emu.control.createUser({ name: 'Human', email: 'h@example.test' });
  w.emu.control.grantAccess(w.ref, human.user_id);
  const value = (state: string) => ({
    type: 'thread',
    thread: {
      attributes: { name: 'Job' },
      metadata: {
        workspace: { work_folder: '/tmp' },
        agent: { type: 'codex', model: 'x' },
        instance: { state, extra: 1 },
        custom: { keep: true },
      },
    },
    unknown_top: 'kept',
  });
  for (const [selector, from] of [
    ['main', 'failed'],
    [w.ref.session_id, 'completed'],
    [`session_agent_harness-${w.ref.session_id}`, 'failed'],
  ]) {
    w.emu.control.uploadObject(human.user_id, w.ref, 'job', value(from));
    const r = await runCli(['reset', selector, 'job'], { home: w.home });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${from} → pending`));
    assert.deepEqual(w.emu.control.getObject(w.ref, 'job')!.value, value('pending'), 'only instance.state changed');
  }
  assert.ok(!JSON.stringify(await runCli(['reset', 'main', 'job'], { home: w.home })).includes(w.user.api_key));
});

test('reset: pending/active, unknown alias, non-job object, unknown section → exit 1, nothing changed', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  for (const state of ['pending', 'active']) {
    w.emu.control.uploadObject(w.user.user_id, w.ref, 'job', {
      type: 'thread',
      thread: { metadata: { instance: { state } } },
    });
    w.emu.control.resetCounters();
    const line = expectCode(await runCli(['reset', 'main', 'job'], { home: w.home }), 'INVALID_STATE', 1);
    assert.match(line.message, new RegExp(`is ${state}`));
    assert.equal(w.emu.control.counters().mutating, 0);
  }
  w.emu.control.uploadObject(w.user.user_id, w.ref, 'notes', { type: 'thread', thread: { metadata: {} } });
  w.emu.control.resetCounters();
  expectCode(await runCli(['reset', 'main', 'notes'], { home: w.home }), 'NOT_FOUND', 1);
  expectCode(await runCli(['reset', 'main', 'nope'], { home: w.home }), 'NOT_FOUND', 1);
  assert.equal(w.emu.control.counters().mutating, 0);
  w.emu.control.resetCounters();
  const line = expectCode(await runCli(['reset', 'other', 'job'], { home: w.home }), 'NOT_FOUND', 1);
  assert.match(line.message, /no section "other"/);
  assert.equal(w.emu.control.counters().requests, 0);
  expectCode(await runCli(['reset', 'main'], { home: w.home }), 'USAGE', 2);
});

test('global: --help, --version, no command, unknown command; BLOBHUB_WORKER_HOME is honoured', async (t) => {
  const w = await cliWorld(t);
  const help = await runCli(['--help'], { home: w.home });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /blobhub-worker login/);
  assert.equal((await runCli(['--version'], { home: w.home })).stdout.trim(), '0.1.0');
  // No command: the help on stderr and exit 2 — not a JSON USAGE error line.
  const bare = await runCli([], { home: w.home });
  assert.equal(bare.status, 2);
  assert.equal(bare.stdout, '');
  assert.equal(bare.stderr, help.stdout);
  assert.ok(!bare.stderr.includes('"level":"error"'));
  // `<command> --help`: that command only.
  for (const [cmd, usage] of [
    ['status', 'status [--json] [--home DIR]'],
    ['reset', 'reset <section> <thread-alias> [--json] [--home DIR]'],
    ['login', 'login [--api-url URL]'],
  ] as const) {
    const r = await runCli([cmd, '--help'], { home: w.home });
    assert.equal(r.status, 0);
    assert.ok(r.stdout.startsWith(`Usage: blobhub-worker ${usage}`), r.stdout);
    assert.ok(
      !r.stdout.includes('Commands:') && !r.stdout.includes('blobhub-worker —'),
      `only ${cmd}'s usage: ${r.stdout}`,
    );
    for (const other of ['whoami', 'start [']) assert.ok(!r.stdout.includes(other), r.stdout);
  }
  const statusHelp = (await runCli(['status', '-h'], { home: w.home })).stdout;
  assert.match(statusHelp, /--json\s+machine-readable output/);
  assert.ok(!statusHelp.includes('--api-url'), 'login-only options are not listed for status');
  assert.match(
    (await runCli(['login', '--help'], { home: w.home })).stdout,
    /--api-key-stdin\s+read the API key from stdin/,
  );
  expectCode(await runCli(['frobnicate'], { home: w.home }), 'USAGE', 2);
  await ready(w);
  await writeConfig(w.home, sectionConfig([{ name: 'main', ...w.ref }]));
  // No --home: spawn with the env var only.
  const viaEnv = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [join(process.cwd(), 'dist/cli.js'), 'whoami', '--json'], {
      env: { ...process.env, BLOBHUB_WORKER_HOME: w.home },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => resolve(out));
  });
  assert.equal(JSON.parse(viaEnv).state_root, w.home);
});

test('status: against a really running worker shows its live snapshot; after stop, the files', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  const { spawnCli, waitExit, waitFor } = await import('../support/process');
  const { existsSync } = await import('node:fs');
  const child = spawnCli(['start'], { home: w.home });
  t.after(() => child.kill('SIGKILL'));
  const exited = waitExit(child);
  await waitFor(() => existsSync(join(w.home, 'snapshot.json')), 'snapshot.json', { timeoutMs: 15_000 });
  const live = await waitFor(
    async () => {
      const v = JSON.parse((await runCli(['status', '--json'], { home: w.home })).stdout);
      return v.source === 'live' && v.sections[0]?.attachment === 'attached' ? v : null;
    },
    'live attached view',
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  assert.equal(live.worker.running, true);
  assert.equal(live.worker.pid, child.pid);
  assert.equal(live.sections[0].session_id, w.ref.session_id);
  child.kill('SIGTERM');
  assert.equal((await exited).status, 0);
  const after = JSON.parse((await runCli(['status', '--json'], { home: w.home })).stdout);
  assert.equal(after.worker.running, false);
  assert.equal(after.source, 'files');
  assert.equal(after.sections[0].attachment, 'attached');
  assert.equal(after.sections[0].last_known, true, "the stopped worker's attachment is not presented as current");
  const text = (await runCli(['status'], { home: w.home })).stdout;
  assert.match(text, /Section main \(ses_\w+\): attached — last known \(worker not running\)/);
  assert.match(text, /last known state \(worker not running\)/);
});

test('status: with nothing to run yet it says the next step (log in; add a section; fix the config)', async (t) => {
  const w = await cliWorld(t);
  const fresh = await runCli(['status'], { home: w.home });
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.match(fresh.stdout, /No sections\.\n\nNext: Run `blobhub-worker login`/);
  assert.match(
    JSON.parse((await runCli(['status', '--json'], { home: w.home })).stdout).next_step,
    /blobhub-worker login/,
  );

  await ready(w, 'sections: []\n'); // what login's starter config says
  const empty = await runCli(['status'], { home: w.home });
  assert.match(
    empty.stdout,
    /Next: Add a section .*"sections:" in config\.yaml \(every key: README\.md, section "Configuration"\)/,
  );
  const json = JSON.parse((await runCli(['status', '--json'], { home: w.home })).stdout);
  assert.match(json.next_step, /Add a section/);
  assert.deepEqual(json.sections, []);

  await writeConfig(w.home, 'concurrency:\n  max_agents: 0\n' + sectionConfig([{ name: 'main', ...w.ref }]));
  assert.match(
    (await runCli(['status'], { home: w.home })).stdout,
    /Next: Fix config\.yaml .*INVALID_CONFIG: .*concurrency\.max_agents/,
  );

  await writeConfig(w.home, sectionConfig([{ name: 'main', ...w.ref }]));
  const ok = JSON.parse((await runCli(['status', '--json'], { home: w.home })).stdout);
  assert.equal(ok.next_step, null);
  assert.equal(ok.sections[0].attachment, 'not_started');
});
