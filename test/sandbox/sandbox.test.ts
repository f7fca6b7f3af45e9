/**
 * startSandbox in-process: the scripted flows run against the real emulator, worker and demo agent launcher;
 * the sandbox writes only inside its own state root (a "real-looking" parent root next to it is untouched, byte
 * for byte) and removes it on stop; it refuses a folder that is not a sandbox; the desktop's switch shows
 * the sandbox's snapshot with `sandbox: true`, keeps sign-in on the real host and switches back on leave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { createWorkerHost } from '../../main/core/worker';
import { isWorkerError } from '../../main/core/errors';
import { startSandbox, autopilotAnswer, SANDBOX_MARKER, type SandboxActivity } from '../../main/sandbox/index';
import { createSandboxSwitch } from '../../main/sandbox/desktop';
import { launcherScript, shellQuote, unpackedPath, writeLauncher } from '../../main/sandbox/launcher';
import { DemoProgress } from '../../main/sandbox/timeline';
import type { Snapshot } from '../../main/core/snapshot';
import { ROOT, tempDir, waitFor } from '../support/process';

const AGENT_SIM = join(ROOT, 'main/sandbox/agent-sim');

/** path → sha256 of every file (and `dir/` for folders) under `dir`, skipping `skip`. */
function treeDigest(dir: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (p === skip) continue;
      const st = statSync(p);
      if (st.isDirectory()) {
        out.set(`${relative(dir, p)}/`, `mode ${st.mode}`);
        walk(p);
      } else {
        out.set(
          relative(dir, p),
          `${st.mode} ${createHash('sha256').update(readFileSync(p)).digest('hex')} ${st.mtimeMs}`,
        );
      }
    }
  };
  walk(dir);
  return out;
}

async function realLookingRoot(base: string): Promise<string> {
  const real = join(base, '.blobhub-worker');
  await mkdir(join(real, 'logs'), { recursive: true, mode: 0o700 });
  await writeFile(
    join(real, 'credentials.yaml'),
    'api:\n  key: bhk_REAL_KEY_DO_NOT_TOUCH_000000000\n  url: https://api.blobhub.io/v1\n',
    { mode: 0o600 },
  );
  await writeFile(join(real, 'identity.yaml'), 'user:\n  user_id: usr_real\n  recorded_at: 2026-01-01T00:00:00Z\n', {
    mode: 0o600,
  });
  await writeFile(join(real, 'config.yaml'), 'sections: []\n', { mode: 0o600 });
  await writeFile(join(real, 'logs', 'desktop.log'), 'earlier log line\n');
  return real;
}

test('the sandbox runs every flow and writes only inside its own state root', { timeout: 60_000 }, async (t) => {
  const tmp = await tempDir('bhw-sandbox-');
  t.after(() => tmp.cleanup());
  const real = await realLookingRoot(tmp.path);
  const sandboxRoot = join(real, 'sandbox');
  const before = treeDigest(tmp.path, sandboxRoot);
  // A private TMPDIR for this process (os.tmpdir() reads it on every call), so sandboxes other test files or
  // runs make in the shared /tmp at the same time cannot be mistaken for one made here.
  const privateTmp = await tempDir('bhw-sandbox-tmp-');
  t.after(() => privateTmp.cleanup());
  const realTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = privateTmp.path;
  t.after(() => {
    if (realTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = realTmpdir;
  });
  assert.equal(tmpdir(), privateTmp.path);
  const tmpBefore = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('blobhub-sandbox-')));

  const sandbox = await startSandbox({ stateRoot: sandboxRoot, agentSimDir: AGENT_SIM, autopilot: true, pace: 0.5 });
  t.after(() => sandbox.stop());
  assert.equal(sandbox.stateRoot, sandboxRoot);
  assert.match(sandbox.apiUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/, 'loopback only');

  const progress = new DemoProgress();
  const seen: SandboxActivity[] = [];
  sandbox.onActivity((a) => {
    seen.push(a);
    progress.observe(a);
  });
  await waitFor(() => progress.done, `every flow (missing: ${progress.missing().join(', ')})`, { timeoutMs: 30_000 });

  // What the sandbox wrote: its own credentials (through login, 0600), its config pointing at the launcher.
  const config = await readFile(join(sandboxRoot, 'config.yaml'), 'utf8');
  assert.match(config, new RegExp(`executable: ${join(sandboxRoot, 'demo-agent', 'claude').replace(/[/.]/g, '\\$&')}`));
  assert.match(config, /interval_idle_ms: 500/);
  assert.equal(statSync(join(sandboxRoot, 'credentials.yaml')).mode & 0o777, 0o600);
  assert.match(await readFile(join(sandboxRoot, 'credentials.yaml'), 'utf8'), /url: http:\/\/127\.0\.0\.1:/);
  assert.ok(existsSync(join(sandboxRoot, SANDBOX_MARKER)));
  const snap = sandbox.host.snapshot();
  assert.equal(snap.identity?.name, 'Sandbox Worker');
  assert.deepEqual(snap.sections[0].threads.map((x) => x.alias).sort(), ['fix-login', 'update-docs']);
  assert.ok(
    seen.some(
      (a) => a.type === 'item' && a.kind === 'pending_prompt_resolved' && a.metadata.answered_via === 'desktop',
    ),
  );

  // Nothing outside the sandbox root changed while it ran, and no temp folder was made.
  assert.deepEqual(treeDigest(tmp.path, sandboxRoot), before, 'the parent (real-looking) root is untouched');
  assert.deepEqual(new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('blobhub-sandbox-'))), tmpBefore);

  await sandbox.stop();
  assert.ok(!existsSync(sandboxRoot), 'stop() removes the sandbox state root');
  assert.deepEqual(treeDigest(tmp.path, sandboxRoot), before, 'and still nothing else changed');
  await sandbox.stop(); // idempotent
});

test('the sandbox refuses a folder that is not a sandbox, and leaves it alone', { timeout: 20_000 }, async (t) => {
  const tmp = await tempDir('bhw-sandbox-');
  t.after(() => tmp.cleanup());
  const real = await realLookingRoot(tmp.path);
  const before = treeDigest(tmp.path, '');
  await assert.rejects(
    startSandbox({ stateRoot: real, agentSimDir: AGENT_SIM }),
    (e) => isWorkerError(e, 'SANDBOX_START_FAILED') && /not a sandbox folder/.test(e.message),
  );
  assert.deepEqual(treeDigest(tmp.path, ''), before);
  // A missing simulator is a named error too, and nothing is left behind.
  const root = join(tmp.path, 'sb');
  await assert.rejects(
    startSandbox({ stateRoot: root, agentSimDir: join(tmp.path, 'nowhere') }),
    (e) => isWorkerError(e, 'SANDBOX_START_FAILED') && /missing/.test(e.message),
  );
  assert.ok(!existsSync(root));
  // Windows: the launcher is a shell script, so the sandbox says so before creating anything.
  await assert.rejects(startSandbox({ stateRoot: root, agentSimDir: AGENT_SIM, platform: 'win32' }), (e) =>
    isWorkerError(e, 'SANDBOX_NOT_AVAILABLE'),
  );
  assert.ok(!existsSync(root));
});

test('the demo agent launcher: quoting, Electron-as-node, asar unpacking, no Windows', async (t) => {
  const tmp = await tempDir('bhw-launcher-');
  t.after(() => tmp.cleanup());
  assert.equal(shellQuote("it's $HOME"), `'it'\\''s $HOME'`);
  assert.equal(
    unpackedPath('/opt/BlobHub Worker/resources/app.asar/dist/agent-sim'),
    '/opt/BlobHub Worker/resources/app.asar.unpacked/dist/agent-sim',
  );
  assert.equal(unpackedPath('/work/dist/agent-sim'), '/work/dist/agent-sim');
  const o = {
    path: join(tmp.path, 'claude'),
    agentSimDir: AGENT_SIM,
    execPath: '/opt/My App/electron',
    scenarioFile: join(tmp.path, "sc'n.json"),
    stateDir: join(tmp.path, 'state'),
  };
  const script = launcherScript(o);
  assert.match(script, /^#!\/bin\/sh\n/);
  assert.match(script, /ELECTRON_RUN_AS_NODE=1 /);
  assert.match(script, /exec '\/opt\/My App\/electron' '.*\/agent-sim\/claude\.mjs' "\$@"/);
  assert.match(script, /FAKE_AGENT_SCENARIO='.*sc'\\''n\.json'/);
  await assert.rejects(writeLauncher(o, 'win32'), (e) => isWorkerError(e, 'SANDBOX_NOT_AVAILABLE'));
  await writeLauncher({ ...o, execPath: process.execPath });
  assert.equal(statSync(o.path).mode & 0o777, 0o700);
});

test('autopilot answers: allow; first option per question; two labels for multi-select', () => {
  const base = { section: 's', session_id: 'ses', thread: 'fix-login', created_at: null };
  assert.deepEqual(autopilotAnswer({ ...base, id: 'pr_1', kind: 'approval', payload: {} }), {
    kind: 'approval',
    decision: 'allow',
  });
  assert.deepEqual(
    autopilotAnswer({
      ...base,
      id: 'pr_2',
      kind: 'ask_user_question',
      payload: {
        questions: [
          { question: 'A?', multi_select: false, options: [{ label: 'x' }, { label: 'y' }] },
          { question: 'B?', multi_select: true, options: [{ label: 'p' }, { label: 'q' }, { label: 'r' }] },
        ],
      },
    }),
    { kind: 'ask_user_question', answers: { 'A?': 'x', 'B?': 'p, q' } },
  );
});

test(
  'the desktop switch: sandbox snapshots are marked, sign-in stays on the real host, leave switches back',
  { timeout: 60_000 },
  async (t) => {
    const tmp = await tempDir('bhw-switch-');
    t.after(() => tmp.cleanup());
    const realRoot = join(tmp.path, 'home');
    const real = createWorkerHost({ home: realRoot, writeSnapshotFile: false });
    t.after(() => real.stop());
    await real.start();
    assert.equal(real.snapshot().phase, 'signed_out');
    const sw = createSandboxSwitch({
      real,
      sandbox: { stateRoot: join(realRoot, 'sandbox'), agentSimDir: AGENT_SIM, pace: 0.5 },
    });
    t.after(() => sw.leave());
    const pushed: Snapshot[] = [];
    sw.host.onChange((s) => pushed.push(s));

    assert.equal(sw.host.stateRoot, realRoot);
    assert.equal(sw.host.snapshot().sandbox, undefined);
    await sw.start();
    await sw.start(); // idempotent
    assert.ok(sw.active);
    assert.equal(sw.host.stateRoot, join(realRoot, 'sandbox'));
    const s = sw.host.snapshot();
    assert.equal(s.sandbox, true);
    assert.equal(s.phase, 'running');
    await waitFor(
      () =>
        pushed.some(
          (p) => p.sandbox && p.sections[0]?.threads.some((x) => x.alias === 'fix-login' && x.open_prompt_id),
        ),
      'the sandbox approval prompt is pushed',
      { timeoutMs: 20_000 },
    );

    // Answered through the switch (as the prompt window would): it reaches the sandbox's agent.
    const prompt = sw.host.snapshot().prompts[0];
    await sw.host.answerPrompt(prompt.id, { kind: 'approval', decision: 'allow' });
    await waitFor(() => sw.host.snapshot().prompts.some((p) => p.kind === 'ask_user_question'), 'the next prompt', {
      timeoutMs: 20_000,
    });

    // "Sign out" in the sandbox means leaving it; the real root never got credentials.
    await sw.host.signOut();
    assert.ok(!sw.active);
    assert.ok(!existsSync(join(realRoot, 'sandbox')), 'the sandbox state is gone');
    assert.equal(sw.host.stateRoot, realRoot);
    assert.equal(sw.host.snapshot().sandbox, undefined);
    assert.equal(pushed.at(-1)?.sandbox, undefined, 'the switch back was pushed');
    assert.ok(!existsSync(join(realRoot, 'credentials.yaml')), 'the real credentials were never written');
    await sw.leave(); // no-op
  },
);
