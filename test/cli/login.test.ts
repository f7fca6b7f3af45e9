/** `blobhub-worker login` as a real child process against the emulator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, stat, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import YAML from 'yaml';
import { runCli } from '../support/process';
import { cliWorld, expectCode, loginCli } from './helpers';

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;
const yaml = async (p: string): Promise<any> => YAML.parse(await readFile(p, 'utf8'));

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('login: writes credentials (0600), identity (recorded_at), a starter config; root is 0700; key never printed', async (t) => {
  const w = await cliWorld(t);
  const r = await loginCli(w, w.user.api_key);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Logged in as Worker Bot <bot@example\.test>/);
  assert.ok(!r.stdout.includes(w.user.api_key) && !r.stderr.includes(w.user.api_key), 'key printed');

  assert.equal(await mode(w.home), 0o700);
  assert.equal(await mode(join(w.home, 'credentials.yaml')), 0o600);
  const creds = await yaml(join(w.home, 'credentials.yaml'));
  assert.deepEqual(creds, { api: { key: w.user.api_key, url: w.emu.apiUrl } });
  const id = await yaml(join(w.home, 'identity.yaml'));
  assert.equal(id.user.user_id, w.user.user_id);
  assert.equal(id.user.name, 'Worker Bot');
  assert.equal(id.user.email, 'bot@example.test');
  assert.ok(Math.abs(Date.parse(id.user.recorded_at) - Date.now()) < 60_000, `recorded_at ${id.user.recorded_at}`);
  assert.match(await readFile(join(w.home, 'config.yaml'), 'utf8'), /sections:/);

  const c = w.emu.control.counters();
  assert.deepEqual(Object.keys(c.byCommand), ['users/me']);
  assert.equal(c.mutating, 0);
});

test('login: re-running with the same key is a refresh; an existing config.yaml is never touched', async (t) => {
  const w = await cliWorld(t);
  assert.equal((await loginCli(w, w.user.api_key)).status, 0);
  const custom = '# mine\nsections: []\n';
  await writeFile(join(w.home, 'config.yaml'), custom);
  const before = (await yaml(join(w.home, 'identity.yaml'))).user.recorded_at;
  await new Promise((r) => setTimeout(r, 1100));
  const r = await loginCli(w, w.user.api_key, ['--realtime-url', w.emu.realtimeUrl]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Identity replaced/);
  assert.equal(await readFile(join(w.home, 'config.yaml'), 'utf8'), custom);
  const id = await yaml(join(w.home, 'identity.yaml'));
  assert.equal(id.user.user_id, w.user.user_id);
  assert.notEqual(id.user.recorded_at, before, 'recorded_at refreshed');
  assert.equal((await yaml(join(w.home, 'credentials.yaml'))).api.realtime_url, w.emu.realtimeUrl);
  // A refresh against the same API keeps the realtime URL it already had.
  assert.equal((await loginCli(w, w.user.api_key)).status, 0);
  assert.equal((await yaml(join(w.home, 'credentials.yaml'))).api.realtime_url, w.emu.realtimeUrl);
});

test('login: a rejected key is AUTH_INVALID (14) and writes nothing', async (t) => {
  const w = await cliWorld(t);
  const r = await loginCli(w, 'bhk_not_a_real_key_123456');
  const line = expectCode(r, 'AUTH_INVALID', 14);
  assert.ok(!line.message.includes('bhk_not_a_real_key_123456'));
  assert.ok(!r.stderr.includes('bhk_not_a_real_key_123456') && !r.stdout.includes('bhk_not_a_real_key_123456'));
  assert.ok(!existsSync(join(w.home, 'credentials.yaml')));
  assert.ok(!existsSync(join(w.home, 'identity.yaml')));
});

test('login: a 403 from /users/me is AUTH_INVALID too', async (t) => {
  const w = await cliWorld(t);
  w.emu.control.setAuth(w.user.user_id, 403);
  expectCode(await loginCli(w, w.user.api_key), 'AUTH_INVALID', 14);
});

test('login: identity change needs --yes; without it USER_IDENTITY_MISMATCH (13) and nothing changes', async (t) => {
  const w = await cliWorld(t);
  const other = w.emu.control.createUser({ name: 'Other', email: 'other@example.test' });
  assert.equal((await loginCli(w, w.user.api_key)).status, 0);
  const credsBefore = await readFile(join(w.home, 'credentials.yaml'), 'utf8');
  const idBefore = await readFile(join(w.home, 'identity.yaml'), 'utf8');

  const refused = await loginCli(w, other.api_key);
  const line = expectCode(refused, 'USER_IDENTITY_MISMATCH', 13);
  assert.match(line.message, new RegExp(other.user_id));
  assert.equal(await readFile(join(w.home, 'credentials.yaml'), 'utf8'), credsBefore);
  assert.equal(await readFile(join(w.home, 'identity.yaml'), 'utf8'), idBefore);

  const ok = await loginCli(w, other.api_key, ['--yes']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Identity replaced/);
  assert.equal((await yaml(join(w.home, 'identity.yaml'))).user.user_id, other.user_id);
  assert.equal((await yaml(join(w.home, 'credentials.yaml'))).api.key, other.api_key);
});

test('login: prompts read from a non-TTY stdin line by line (URL, key, y/N); the key is never echoed', async (t) => {
  const w = await cliWorld(t);
  const other = w.emu.control.createUser({ name: 'Other', email: 'other@example.test' });
  const first = await runCli(['login'], { home: w.home, input: `${w.emu.apiUrl}\n${w.user.api_key}\n` });
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /BlobHub API URL \[https:\/\/api\.blobhub\.io\/v1\]/);
  assert.ok(!first.stdout.includes(w.user.api_key) && !first.stderr.includes(w.user.api_key));

  // Enter accepts the stored URL as the default; "n" declines the identity change.
  const declined = await runCli(['login'], { home: w.home, input: `\n${other.api_key}\nn\n` });
  expectCode(declined, 'USER_IDENTITY_MISMATCH', 13);
  assert.match(declined.stderr, /Replace the recorded identity\? \[y\/N\]/);
  assert.equal((await yaml(join(w.home, 'identity.yaml'))).user.user_id, w.user.user_id);

  const accepted = await runCli(['login'], { home: w.home, input: `\n${other.api_key}\ny\n` });
  assert.equal(accepted.status, 0, accepted.stderr);
  assert.equal((await yaml(join(w.home, 'identity.yaml'))).user.user_id, other.user_id);
});

test('login: an existing credentials.yaml with any group/other bit is refused (11), untouched', async (t) => {
  const w = await cliWorld(t);
  assert.equal((await loginCli(w, w.user.api_key)).status, 0);
  for (const m of [0o644, 0o640, 0o604, 0o660]) {
    await chmod(join(w.home, 'credentials.yaml'), m);
    const r = await loginCli(w, w.user.api_key);
    expectCode(r, 'INSECURE_CREDENTIALS_PERMISSIONS', 11);
    assert.equal(await mode(join(w.home, 'credentials.yaml')), m, 'mode left as the user set it');
  }
});

test('login: an unreachable API is API_NETWORK_ERROR (20) and writes nothing', async (t) => {
  const w = await cliWorld(t);
  const port = await deadPort();
  const r = await runCli(['login', '--api-url', `http://127.0.0.1:${port}/v1`, '--api-key-stdin', '--no-input'], {
    home: w.home,
    input: `${w.user.api_key}\n`,
  });
  const line = expectCode(r, 'API_NETWORK_ERROR', 20);
  // A one-shot command: nothing is retried after it exits, so the remediation must not say so.
  assert.doesNotMatch(line.remediation, /retried automatically/i);
  assert.match(
    line.remediation,
    /Check the network and the API URL \(--api-url\), then run `blobhub-worker login` again/,
  );
  assert.ok(!existsSync(join(w.home, 'credentials.yaml')));
});

test('login: usage errors exit 2 (no key with --no-input, bad URL, stray argument, unknown flag)', async (t) => {
  const w = await cliWorld(t);
  expectCode(await runCli(['login', '--no-input', '--api-url', w.emu.apiUrl], { home: w.home }), 'USAGE', 2);
  expectCode(
    await runCli(['login', '--api-url', 'not a url', '--api-key-stdin'], { home: w.home, input: 'bhk_x123456\n' }),
    'USAGE',
    2,
  );
  expectCode(
    await runCli(['login', '--api-url', w.emu.apiUrl, '--realtime-url', 'http://x', '--api-key-stdin'], {
      home: w.home,
      input: `${w.user.api_key}\n`,
    }),
    'USAGE',
    2,
  );
  expectCode(await runCli(['login', 'extra'], { home: w.home }), 'USAGE', 2);
  expectCode(await runCli(['login', '--json'], { home: w.home }), 'USAGE', 2);
  expectCode(
    await runCli(['login', '--api-key-stdin', '--api-url', w.emu.apiUrl], { home: w.home, input: '\n\n' }),
    'USAGE',
    2,
  );
  assert.equal(w.emu.control.counters().requests, 0);
});

/** Drives the CLI in a real pseudo-terminal (python3's pty), so the raw-mode no-echo key prompt is exercised. */
const PTY_DRIVER = `
import os, pty, sys, time, select
argv = sys.argv[1:]
key = os.environ['BHW_TEST_KEY']
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b''
def read_until(marker, timeout=10):
    global out
    end = time.time() + timeout
    while marker not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                return
read_until(b'API key', 25)   # typing before the prompt would reach a cooked, echoing terminal
os.write(fd, key.encode()[:5]); time.sleep(0.05)
os.write(fd, b'X\\x7f'); time.sleep(0.05)   # a typo and a backspace
os.write(fd, key.encode()[5:] + b'\\r')
# Everything up to the exit (EIO once the CLI is gone); the test's own 30 s timer bounds it.
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`;

test('login on a terminal: the key prompt is raw-mode and never echoes', async (t) => {
  const { spawnSync } = await import('node:child_process');
  if (spawnSync('python3', ['-c', 'import pty'], { encoding: 'utf8' }).status !== 0) {
    t.skip('python3 with pty is not available');
    return;
  }
  const w = await cliWorld(t);
  const { CLI } = await import('../support/process');
  // Async: the emulator lives in this process and must keep answering while the child runs.
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      'python3',
      ['-c', PTY_DRIVER, process.execPath, CLI, 'login', '--api-url', w.emu.apiUrl, '--home', w.home],
      {
        env: { ...process.env, BHW_TEST_KEY: w.user.api_key },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /API key \(input hidden\)/);
  assert.match(r.stdout, /Logged in as Worker Bot/);
  assert.ok(!r.stdout.includes(w.user.api_key.slice(4)), `key echoed: ${r.stdout}`);
  assert.equal((await yaml(join(w.home, 'credentials.yaml'))).api.key, w.user.api_key);
});
