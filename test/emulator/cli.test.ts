/** The built emulator CLI (`dist/emulator.js`, from `npm run build`): prints its URLs and keys, serves, stops cleanly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ROOT, waitExit, waitFor } from '../support/process';
import { parseJob } from '../../main/core/harness/handoff';
import type { Envelope } from '../../main/core/api/types';

const BIN = join(ROOT, 'dist/emulator.js');

function spawnEmulator(args: string[]) {
  assert.ok(existsSync(BIN), 'dist/emulator.js must be built (npm run build)');
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  // 'close' fires after the pipes drained, so `out` is complete by then.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { child, out, closed };
}

test('prints URLs, keys, the session, a config section and the login command; serves them; exits 0 on SIGTERM', async (t) => {
  const { child, out } = spawnEmulator(['--port', '0', '--page-size', '3']);
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => out.stdout.includes('--api-key-stdin'), 'the login line', { timeoutMs: 15_000 });
  const apiUrl = /REST API:\s+(http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out.stdout)?.[1];
  const realtimeUrl = /Realtime:\s+(ws:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out.stdout)?.[1];
  const workerKey = /Worker user:\s+(usr_\S+)\s+key: (bhk_\S+)/.exec(out.stdout);
  const humanKey = /Human user:\s+(usr_\S+)\s+key: (bhk_\S+)/.exec(out.stdout);
  assert.ok(apiUrl && realtimeUrl && workerKey && humanKey, out.stdout);
  assert.match(
    out.stdout,
    /sections:\n {2}- name: emulator\n {4}job_type: session_agent_harness\n {4}session:\n {6}org_id: org_\S+\n {6}blob_id: blb_\S+\n {6}revision_id: rev_\S+\n {6}session_id: ses_\S+/,
  );
  assert.ok(
    out.stdout.includes(`blobhub-worker login --api-url ${apiUrl} --realtime-url ${realtimeUrl} --api-key-stdin`),
  );
  // In a clone `blobhub-worker` is not on PATH: the npm form is printed too.
  assert.ok(
    out.stdout.includes(`| npm run cli -- login --api-url ${apiUrl} --realtime-url ${realtimeUrl} --api-key-stdin`),
    out.stdout,
  );

  const meRes = await fetch(`${apiUrl}/users/me`, {
    headers: { 'x-api-key': workerKey[2] },
    signal: AbortSignal.timeout(5_000),
  });
  assert.equal(((await meRes.json()) as { user_id: string }).user_id, workerKey[1]);
  const revision = /revision_id: (rev_\S+)/.exec(out.stdout)![1];
  const session = /session_id: (ses_\S+)/.exec(out.stdout)![1];
  const list = await fetch(`${apiUrl}/revisions/${revision}/data`, {
    method: 'POST',
    headers: { 'x-api-key': humanKey[2], 'content-type': 'application/json' },
    body: JSON.stringify({ engine: 'workflow_blobhub', command: 'list_session_objects', session_id: session }),
  });
  assert.deepEqual(await list.json(), { aliases: [] }, 'the seeded session starts empty and the human has access');

  // The printed hand-off runs as printed and creates a job (protocol §6.1) for the human user.
  const curl = /^ {2}(curl -s .*?\}\}\}\}\}')$/ms.exec(out.stdout)?.[1];
  assert.ok(curl, out.stdout);
  const ran = spawnSync('sh', ['-c', curl], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(ran.status, 0, ran.stderr);
  const uploaded = (JSON.parse(ran.stdout) as { result: Envelope }).result;
  assert.equal(uploaded.alias, 'try-1');
  assert.equal(parseJob(uploaded)?.state, 'pending');
  assert.equal(parseJob(uploaded)?.metadata.agent?.type, 'claude_code');
  // README's quick start shows the same command: the same envelope shape, only the ids and folder differ.
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const readmeCurl = /^(curl -s http:\/\/127\.0\.0\.1:PORT\/__control\/uploadObject .*?\}\}\}\}\}')$/ms.exec(
    readme,
  )?.[1];
  assert.ok(readmeCurl, 'README quick start has the hand-off curl');
  const normalize = (cmd: string) =>
    cmd
      .replace(/"work_folder": "[^"]*"/, '"work_folder": "F"')
      .replace(/127\.0\.0\.1:(PORT|\d+)/, '127.0.0.1:P')
      .replace(/(usr|rev|ses)_(…\(human\)|…|\w+)/g, '$1_X');
  assert.equal(normalize(readmeCurl), normalize(curl));

  // A realtime connection open at shutdown must not keep the process alive.
  const ws = new WebSocket(realtimeUrl, { headers: { 'X-API-Key': workerKey[2] } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  child.kill('SIGTERM');
  const exit = await waitExit(child, 10_000);
  assert.deepEqual(exit, { status: 0, signal: null }, out.stderr);
  await assert.rejects(fetch(`${apiUrl}/users/me`, { signal: AbortSignal.timeout(3_000) }));
});

test('--json prints one machine-readable line; SIGINT also stops it with 0', async (t) => {
  const { child, out } = spawnEmulator(['--json']);
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => out.stdout.includes('\n'), 'the JSON line', { timeoutMs: 15_000 });
  const info = JSON.parse(out.stdout.split('\n')[0]) as {
    apiUrl: string;
    worker: { api_key: string };
    session: { session_id: string };
  };
  assert.match(info.apiUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  assert.match(info.worker.api_key, /^bhk_/);
  assert.match(info.session.session_id, /^ses_/);
  child.kill('SIGINT');
  assert.deepEqual(await waitExit(child, 10_000), { status: 0, signal: null });
});

test('bad flags exit 2 with a clear message', async () => {
  for (const args of [['--port', 'abc'], ['--port', '70000'], ['--page-size', '0'], ['--what']]) {
    const { child, out, closed } = spawnEmulator(args);
    const exit = await waitExit(child, 10_000);
    await closed;
    assert.equal(exit.status, 2, args.join(' '));
    assert.match(out.stderr, /^emulator: .*(--port|--page-size|unknown argument)/, args.join(' '));
    assert.equal(out.stdout, '');
  }
});
