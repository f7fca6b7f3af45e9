/**
 * The npm package of the CLI (packages/cli): `npm pack` gives a tarball with only the launcher, the bundle and
 * the README and no dependencies; `npm install -g --prefix <tmp> <tarball>` (offline: nothing to fetch) gives a
 * working `blobhub-worker` — `--version`, `login` with the key on stdin, and `start` against the emulator
 * (REST + realtime on 127.0.0.1) until a thread has run with the fake agent; SIGTERM then stops it with
 * status 0. The container recipe is built from the same tarball when a container engine answers here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { startEmulator } from '../../main/emulator/index';
import { VERSION } from '../../main/version';
import { FAKES, ROOT, tempDir, waitFor } from '../support/process';

const PKG = join(ROOT, 'packages/cli');

/** Runs a command to completion without blocking the event loop (the emulator answers from this process). */
function run(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; input?: string },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function sh(cmd: string, args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.error) throw r.error;
  return r;
}

/** Packs packages/cli (the bundle is built by `npm run build`; no prepack rebuild under a running suite). */
function pack(dest: string): string {
  const r = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: PKG });
  assert.equal(r.status, 0, r.stderr);
  const [info] = JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.deepEqual(
    info.files.map((f) => f.path).sort(),
    [
      'README.md',
      'bin/blobhub-worker.js',
      ...readdirSync(join(PKG, 'dist/chunks')).map((f) => `dist/chunks/${f}`),
      'dist/cli.js',
      'package.json',
    ].sort(),
  );
  return join(dest, info.filename);
}

test('the package: versions agree, no dependencies, only runtime files', () => {
  const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as Record<string, unknown>;
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(pkg.version, VERSION);
  assert.equal(root.version, VERSION);
  assert.equal(pkg.name, 'blobhub-worker');
  assert.deepEqual(pkg.bin, { 'blobhub-worker': 'bin/blobhub-worker.js' });
  for (const key of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'])
    assert.equal(pkg[key], undefined, `${key} in packages/cli/package.json`);
  // The entry and its chunks (the terminal dashboard is one, loaded by `start --tui`).
  const bundle = ['dist/cli.js', ...readdirSync(join(PKG, 'dist/chunks')).map((f) => `dist/chunks/${f}`)]
    .map((f) => readFileSync(join(PKG, f), 'utf8'))
    .join('\n');
  // Self-contained: the only imports left are Node's own modules and the bundle's own chunks.
  const imports = [...bundle.matchAll(/\bimport\s*(?:[\w$*{}\s,]+from\s*)?"([^"]+)"|\bimport\s*\(\s*"([^"]+)"\s*\)/g)]
    .map((m) => m[1] ?? m[2])
    .filter((s) => !s.startsWith('node:') && !/^\.\.?\/(chunks\/)?[\w-]+\.js$/.test(s));
  const builtins = new Set(builtinModules);
  assert.deepEqual(
    imports.filter((s) => !builtins.has(s)),
    [],
    'the bundle imports packages that are not in it',
  );
  assert.ok(!/from\s*"electron"/.test(bundle), 'the CLI bundle does not import electron');
});

test(
  'npm pack → npm install -g --prefix (offline) → blobhub-worker --version, login, start against the emulator, SIGTERM → 0',
  { timeout: 180_000 },
  async (t) => {
    const dir = await tempDir('bhw-pkg-');
    t.after(dir.cleanup);
    const tarball = pack(dir.path);
    const prefix = join(dir.path, 'prefix');
    const install = sh(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--offline',
        '--no-audit',
        '--no-fund',
        '--cache',
        join(dir.path, 'npm-cache'),
        tarball,
      ],
      { cwd: dir.path },
    );
    assert.equal(install.status, 0, install.stderr);
    const installed = join(prefix, 'lib/node_modules/blobhub-worker');
    assert.deepEqual(readdirSync(installed).sort(), ['README.md', 'bin', 'dist', 'package.json']);
    assert.equal(existsSync(join(installed, 'node_modules')), false, 'no dependency was installed');
    const bin = join(prefix, 'bin/blobhub-worker');

    // PATH: the prefix's bin and the node that runs the tests, nothing of the development tree.
    const env: NodeJS.ProcessEnv = {
      PATH: `${join(prefix, 'bin')}:${process.execPath.replace(/\/node$/, '')}:/usr/bin:/bin`,
      HOME: dir.path,
      LANG: 'C.UTF-8',
    };
    const version = await run(bin, ['--version'], { env });
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);

    const emu = await startEmulator();
    t.after(() => emu.close());
    const worker = emu.control.createUser({ name: 'Worker', email: 'w@example.test' });
    const human = emu.control.createUser({ name: 'Human', email: 'h@example.test' });
    const ref = emu.control.createSession({ members: [worker.user_id, human.user_id] });
    const home = join(dir.path, 'state');
    const login = await run(
      bin,
      [
        'login',
        '--api-url',
        emu.apiUrl,
        '--realtime-url',
        emu.realtimeUrl,
        '--api-key-stdin',
        '--no-input',
        '--home',
        home,
      ],
      { env, input: `${worker.api_key}\n` },
    );
    assert.equal(login.status, 0, login.stderr);
    assert.match(login.stdout, /Logged in as Worker/);

    // The fake agent (test/fakes/claude) is the only thing run from the development tree.
    const work = join(dir.path, 'repo');
    await mkdir(work);
    const scenario = join(dir.path, 'scenario.json');
    await writeFile(scenario, '{}');
    await writeFile(
      join(home, 'config.yaml'),
      YAML.stringify({
        agents: { claude_code: { executable: join(FAKES, 'claude'), permissions: 'autonomous' } },
        sections: [{ name: 'main', job_type: 'session_agent_harness', session: ref }],
      }),
    );
    const child = spawn(bin, ['start', '--home', home], {
      env: {
        ...env,
        FAKE_AGENT_SCENARIO: scenario,
        FAKE_AGENT_RECORD: join(dir.path, 'record.jsonl'),
        FAKE_AGENT_STATE_DIR: join(dir.path, 'agent-state'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await waitFor(() => /"event":"realtime_connected"/.test(stderr), 'realtime connected (ws in the bundle)', {
      timeoutMs: 30_000,
    });
    emu.control.uploadObject(human.user_id, ref, 'job', {
      type: 'thread',
      thread: {
        attributes: { name: 'job' },
        metadata: { workspace: { work_folder: work }, agent: { type: 'claude_code' }, instance: { state: 'pending' } },
      },
    });
    emu.control.postItem(human.user_id, ref, 'job', [{ type: 'text', text: 'hello from the package test' }]);
    await waitFor(
      () =>
        emu.control
          .listItems(ref, 'job')
          .some((i) => (i.metadata as { type?: string } | undefined)?.type === 'turn_end'),
      'a turn of the fake agent posted by the installed worker',
      { timeoutMs: 60_000 },
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr.slice(-2000));
    assert.ok(!/\n\s+at /.test(stderr), 'no stack trace');
  },
);

test('Dockerfile: built from the same tarball when a container engine is reachable', async (t) => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  // The recipe itself: the tarball, a non-root user, the state root as a volume, the worker as the command.
  assert.match(dockerfile, /^COPY blobhub-worker-\*\.tgz /m);
  assert.match(dockerfile, /npm install -g --offline[^\n]*\/tmp\/blobhub-worker-\*\.tgz/);
  assert.match(dockerfile, /^USER worker$/m);
  assert.match(dockerfile, /^VOLUME \["\/home\/worker\/.blobhub-worker"\]$/m);
  assert.match(dockerfile, /^CMD \["start"\]$/m);
  const info = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 20_000 });
  if (info.error || info.status !== 0) {
    t.skip(
      `no container engine here (docker info: ${info.error ? String(info.error.message) : `status ${info.status}`}); the image was not built`,
    );
    return;
  }
  const dir = await tempDir('bhw-image-');
  t.after(dir.cleanup);
  pack(dir.path);
  await copyFile(join(ROOT, 'Dockerfile'), join(dir.path, 'Dockerfile'));
  const tag = `blobhub-worker-test:${process.pid}`;
  const build = sh('docker', ['build', '-t', tag, dir.path]);
  assert.equal(build.status, 0, build.stderr);
  t.after(() => void sh('docker', ['rmi', '-f', tag]));
  const run = sh('docker', ['run', '--rm', '--network', 'none', tag, '--version']);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), VERSION);
});
