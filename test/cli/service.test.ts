/**
 * `blobhub-worker service`: the systemd unit and the launchd plist as pure renderings (checked by
 * `systemd-analyze verify` and by parsing the plist back against the schema of its keys), and the command end
 * to end with `systemctl` / `loginctl` stand-ins on PATH (no service manager runs on a CI machine), as a
 * non-root user, plus the refusal as root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../main/cli/node-flags';
import { capturedEnv, serviceArgv, serviceSpec, type ServiceSpec } from '../../main/cli/service/spec';
import { execWord, renderSystemdUnit, unitPath } from '../../main/cli/service/systemd';
import {
  LaunchdPlist,
  launchdJob,
  parsePlist,
  renderPlist,
  isDisabledIn,
  parseLaunchctlPrint,
} from '../../main/cli/service/launchd';
import { ROOT, tempDir } from '../support/process';

const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const PACKAGE_CLI = join(ROOT, 'packages/cli/dist/cli.js');
const LAUNCHER = join(ROOT, 'packages/cli/bin/blobhub-worker.js');

function spec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return serviceSpec({
    scope: 'user',
    nodePath: process.execPath,
    cliPath: join(ROOT, 'dist/cli.js'),
    home: '/home/someone/.blobhub-worker',
    env: [['PATH', '/usr/local/bin:/usr/bin:/bin']],
    ...over,
  });
}

/** `systemd-analyze [--user] verify` on one unit file: its status and the complaints about that file. */
function verify(
  file: string,
  scope: 'user' | 'system',
  runtimeDir: string,
): { status: number | null; complaints: string[] } {
  const r = spawnSync(SYSTEMD_ANALYZE, [...(scope === 'user' ? ['--user'] : []), 'verify', file], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir, SYSTEMD_LOG_COLOR: '0' },
  });
  const name = file.split('/').pop()!;
  const complaints = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes(name) || l.includes(file));
  return { status: r.status, complaints };
}

test('launcher: line 2 passes exactly the NODE_FLAGS the service uses', async () => {
  const line = (await readFile(LAUNCHER, 'utf8')).split('\n')[1];
  assert.equal(line, `":" //# ; exec node ${NODE_FLAGS.join(' ')} "$0" "$@"`);
  assert.ok(NODE_FLAGS.length > 0);
});

test('systemd unit: ExecStart is node + flags + CLI + start --home <root>, restart on failure, journal, user target', () => {
  const unit = renderSystemdUnit(spec());
  const line = (key: string): string[] => unit.split('\n').filter((l) => l.startsWith(`${key}=`));
  assert.deepEqual(line('ExecStart'), [
    `ExecStart=${process.execPath} ${NODE_FLAGS.join(' ')} ${join(ROOT, 'dist/cli.js')} start --home /home/someone/.blobhub-worker`,
  ]);
  assert.deepEqual(line('Restart'), ['Restart=on-failure']);
  assert.deepEqual(line('StandardError'), ['StandardError=journal']);
  assert.deepEqual(line('WantedBy'), ['WantedBy=default.target']);
  assert.deepEqual(line('Environment'), ['Environment="PATH=/usr/local/bin:/usr/bin:/bin"']);
  assert.deepEqual(line('KillMode'), ['KillMode=mixed']);
  assert.deepEqual(line('RestartPreventExitStatus'), ['RestartPreventExitStatus=2 10 11 12 13 14 15 16 17 18 19 21']);
  assert.ok(!unit.includes('network-online'), 'a user manager cannot order on system targets');
  const system = renderSystemdUnit(spec({ scope: 'system' }));
  assert.ok(system.includes('WantedBy=multi-user.target') && system.includes('After=network-online.target'));
  assert.equal(unitPath('user', { home: '/home/u' }), '/home/u/.config/systemd/user/blobhub-worker.service');
  assert.equal(
    unitPath('user', { home: '/home/u', xdgConfigHome: '/cfg' }),
    '/cfg/systemd/user/blobhub-worker.service',
  );
  assert.equal(unitPath('system', { home: '/root' }), '/etc/systemd/system/blobhub-worker.service');
});

test('systemd unit: words with spaces, %, $, quotes and backslashes are quoted and escaped', () => {
  assert.equal(execWord('/usr/bin/node'), '/usr/bin/node');
  assert.equal(execWord('/a b/c'), '"/a b/c"');
  assert.equal(execWord('/50%/x'), '/50%%/x');
  assert.equal(execWord('/$HOME/x'), '/$$HOME/x');
  assert.equal(execWord('/a"b\\c'), '"/a\\"b\\\\c"');
  assert.throws(() => spec({ home: 'relative/root' }), /absolute/);
  assert.throws(() => spec({ home: '/a\nExecStartPre=/bin/evil' }), /control character/);
  assert.throws(() => spec({ env: [['PATH', '/bin\nExecStartPre=/bin/evil']] }), /control character/);
});

test('captured environment: PATH and the proxy variables, nothing else (never the API key)', () => {
  assert.deepEqual(
    capturedEnv({ PATH: '/bin', HTTPS_PROXY: 'http://proxy:3128', BLOBHUB_API_KEY: 'bhk_x', HOME: '/h', NO_PROXY: '' }),
    [
      ['PATH', '/bin'],
      ['HTTPS_PROXY', 'http://proxy:3128'],
    ],
  );
});

test('systemd-analyze verify accepts the generated user and system units (odd paths included) and rejects a broken one', async (t) => {
  if (!existsSync(SYSTEMD_ANALYZE)) {
    t.skip(`${SYSTEMD_ANALYZE} is missing (Debian package systemd; .ci/run installs it)`);
    return;
  }
  const dir = await tempDir('bhw-unit-');
  t.after(dir.cleanup);
  const runtime = join(dir.path, 'runtime');
  await mkdir(runtime, { mode: 0o700 });
  // node behind a folder name with a space and a percent sign: verify checks ExecStart's program exists,
  // so a quoting or specifier mistake in the first word is caught.
  const odd = join(dir.path, 'my node 100%');
  await mkdir(odd);
  await symlink(process.execPath, join(odd, 'node'));
  const cases: Array<[string, ServiceSpec]> = [
    ['user', spec()],
    [
      'odd',
      spec({ nodePath: join(odd, 'node'), home: join(dir.path, 'state $root "x"'), env: [['PATH', '/bin:/a b']] }),
    ],
    ['system', spec({ scope: 'system' })],
  ];
  for (const [name, s] of cases) {
    const folder = join(dir.path, name);
    await mkdir(folder);
    const file = join(folder, 'blobhub-worker.service');
    await writeFile(file, renderSystemdUnit(s));
    const r = verify(file, s.scope, runtime);
    assert.equal(r.status, 0, `${name}: ${r.complaints.join('\n')}`);
    assert.deepEqual(r.complaints, [], `${name}: systemd-analyze complained`);
  }
  // The check can fail: a bad value and a missing program are reported.
  const bad = join(dir.path, 'bad');
  await mkdir(bad);
  const badFile = join(bad, 'blobhub-worker.service');
  await writeFile(
    badFile,
    renderSystemdUnit(spec({ nodePath: join(dir.path, 'no-such-node') })).replace('RestartSec=10s', 'RestartSec=soon'),
  );
  const r = verify(badFile, 'user', runtime);
  assert.ok(
    r.complaints.some((l) => /RestartSec|sec value/.test(l)),
    r.complaints.join('\n'),
  );
  assert.ok(r.complaints.some((l) => /no-such-node/.test(l)) || r.status !== 0, r.complaints.join('\n'));
});

test('launchd plist: parsed back, it matches the schema of the keys written and the job exactly', () => {
  const s = spec({
    nodePath: '/opt/homebrew/bin/node',
    cliPath: '/opt/homebrew/lib/node_modules/blobhub-worker/dist/cli.js',
    home: '/Users/a & b/<state> "root"',
    env: [
      ['PATH', '/opt/homebrew/bin:/usr/bin'],
      ['HTTPS_PROXY', 'http://proxy.example:3128'],
    ],
  });
  const job = launchdJob(s, '/Users/a & b/Library/Logs/blobhub-worker.log');
  const xml = renderPlist(job);
  assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC'));
  const back = LaunchdPlist.parse(parsePlist(xml));
  assert.deepEqual(back, job);
  assert.deepEqual(back.ProgramArguments, serviceArgv(s));
  assert.deepEqual(back.ProgramArguments.slice(-3), ['start', '--home', '/Users/a & b/<state> "root"']);
  assert.deepEqual(back.KeepAlive, { SuccessfulExit: false });
  assert.equal(back.RunAtLoad, true);
  assert.equal(back.Umask, 0o077);
  // The schema is strict and the parser refuses what it does not know.
  assert.equal(LaunchdPlist.safeParse({ ...job, Debug: true }).success, false);
  assert.equal(LaunchdPlist.safeParse({ ...job, Label: 'other' }).success, false);
  assert.throws(() => parsePlist(xml.replace('<true/>', '<real>1.5</real>')), /unsupported element <real>/);
  assert.throws(() => parsePlist(xml.replace('</plist>', '')), /plist/);
  assert.throws(() => parsePlist(xml.replace('<key>Label</key>', '<key>Label</key><key>x</key>')), /plist/);
  const plutil = spawnSync('plutil', ['-lint', '-'], { input: xml, encoding: 'utf8' });
  if (plutil.error === undefined) assert.equal(plutil.status, 0, plutil.stdout + plutil.stderr); // macOS only
});

test('launchctl output: print state/pid and print-disabled', () => {
  assert.deepEqual(
    parseLaunchctlPrint('gui/501/io.blobhub.worker = {\n\tactive count = 1\n\tstate = running\n\tpid = 812\n}'),
    {
      state: 'running',
      pid: 812,
    },
  );
  assert.deepEqual(parseLaunchctlPrint('\tstate = not running\n'), { state: 'not', pid: null });
  assert.equal(isDisabledIn('disabled services = {\n\t"io.blobhub.worker" => disabled\n}'), true);
  assert.equal(isDisabledIn('disabled services = {\n\t"io.blobhub.worker" => enabled\n}'), false);
  assert.equal(isDisabledIn('disabled services = {\n}'), false);
});

// ------------------------------------------------------------------------------------------ end to end

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the packaged CLI bundle as `uid` (or as ourselves), with the stand-ins first on PATH. */
function runAs(args: string[], env: NodeJS.ProcessEnv, uid: number | null): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PACKAGE_CLI, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(uid === null ? {} : { uid, gid: uid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A temp HOME with a logged-in state root and stand-ins for systemctl / loginctl that log their argv. */
async function serviceWorld(t: { after(fn: () => Promise<void>): void }, owner: number | null) {
  const dir = await tempDir('bhw-service-');
  t.after(dir.cleanup);
  const home = join(dir.path, 'home');
  const bin = join(dir.path, 'bin');
  const state = join(home, '.blobhub-worker');
  const calls = join(dir.path, 'calls.log');
  await mkdir(state, { recursive: true, mode: 0o700 });
  await mkdir(bin);
  await writeFile(join(state, 'credentials.yaml'), 'api: {key: bhk_not_used, url: http://127.0.0.1:9/v1}\n', {
    mode: 0o600,
  });
  const show = 'LoadState=loaded\nUnitFileState=enabled\nActiveState=active\nSubState=running\nMainPID=4242\n';
  await writeFile(
    join(bin, 'systemctl'),
    `#!/bin/sh\necho "systemctl $*" >> "${calls}"\ncase "$*" in *" show "*) printf '${show.replace(/\n/g, '\\n')}' ;; esac\nexit 0\n`,
  );
  await writeFile(join(bin, 'loginctl'), `#!/bin/sh\necho "loginctl $*" >> "${calls}"\necho Linger=no\n`);
  await chmod(join(bin, 'systemctl'), 0o755);
  await chmod(join(bin, 'loginctl'), 0o755);
  await writeFile(calls, '');
  if (owner !== null) {
    for (const p of [dir.path, home, state, join(state, 'credentials.yaml'), calls]) await chown(p, owner, owner);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:/usr/bin:/bin`,
    HOME: home,
    LANG: 'C.UTF-8',
  };
  return {
    dir: dir.path,
    home,
    state,
    env,
    calls: async () => (await readFile(calls, 'utf8')).split('\n').filter(Boolean),
  };
}

const isRoot = process.getuid?.() === 0;
/** As root the user-scope flow runs as `nobody`, the way a real install runs as the worker's own user. */
const NOBODY = 65534;

test('service install / status / uninstall as a normal user: the user unit written, enabled and started with systemctl --user', async (t) => {
  if (process.platform !== 'linux') {
    t.skip('the systemd flow is Linux-only');
    return;
  }
  const uid = isRoot ? NOBODY : null;
  const w = await serviceWorld(t, uid);
  const install = await runAs(['service', 'install', '--json', '--home', w.state], w.env, uid);
  assert.equal(install.status, 0, install.stderr);
  const out = JSON.parse(install.stdout) as Record<string, unknown>;
  const file = join(w.home, '.config/systemd/user/blobhub-worker.service');
  assert.equal(out.file, file);
  assert.equal(out.scope, 'user');
  assert.equal(out.linger, false);
  const unit = await readFile(file, 'utf8');
  const exec = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  assert.equal(
    exec,
    `ExecStart=${process.execPath} ${NODE_FLAGS.join(' ')} ${realpathSync(PACKAGE_CLI)} start --home ${w.state}`,
  );
  assert.ok(unit.includes(`Environment="PATH=${w.env.PATH}"`));
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const calls = await w.calls();
  assert.deepEqual(calls.slice(0, 3), [
    'systemctl --user daemon-reload',
    'systemctl --user enable blobhub-worker.service',
    'systemctl --user restart blobhub-worker.service',
  ]);
  assert.match(calls[3] ?? '', /^loginctl show-user \S+ --property=Linger$/);

  const status = await runAs(['service', 'status', '--json', '--home', w.state], w.env, uid);
  assert.equal(status.status, 0, status.stderr);
  const st = JSON.parse(status.stdout) as Record<string, unknown>;
  assert.deepEqual(
    { installed: st.installed, enabled: st.enabled, running: st.running, pid: st.pid, manager: st.manager },
    { installed: true, enabled: true, running: true, pid: 4242, manager: 'systemd' },
  );
  const human = await runAs(['service', 'status', '--home', w.state], w.env, uid);
  assert.match(human.stdout, /Enabled: +yes/);
  assert.match(human.stdout, /Running: +yes \(active\/running, enabled, pid 4242\)/);

  const uninstall = await runAs(['service', 'uninstall', '--home', w.state], w.env, uid);
  assert.equal(uninstall.status, 0, uninstall.stderr);
  assert.equal(existsSync(file), false);
  const after = await w.calls();
  assert.ok(after.includes('systemctl --user disable --now blobhub-worker.service'), after.join('\n'));
  assert.equal(after.at(-1), 'systemctl --user daemon-reload');
});

test('service install refuses without a login (10), and --no-start only enables', async (t) => {
  if (process.platform !== 'linux') {
    t.skip('the systemd flow is Linux-only');
    return;
  }
  const uid = isRoot ? NOBODY : null;
  const w = await serviceWorld(t, uid);
  const empty = join(w.home, 'empty-root');
  const r = await runAs(['service', 'install', '--home', empty], w.env, uid);
  assert.equal(r.status, 10, r.stderr);
  assert.equal((JSON.parse(r.stderr.trim().split('\n')[0]) as { code: string }).code, 'CREDENTIALS_NOT_FOUND');
  assert.equal(existsSync(join(w.home, '.config/systemd/user/blobhub-worker.service')), false);
  const n = await runAs(['service', 'install', '--no-start', '--home', w.state], w.env, uid);
  assert.equal(n.status, 0, n.stderr);
  assert.ok(!(await w.calls()).some((l) => l.includes('restart')));
  const bad = await runAs(['service', 'status', '--no-start', '--home', w.state], w.env, uid);
  assert.equal(bad.status, 2);
});

test('service install / uninstall as root without --allow-root: SERVICE_AS_ROOT (22), nothing written or run', async (t) => {
  if (!isRoot) {
    t.skip('needs root (runs as root on CI)');
    return;
  }
  const w = await serviceWorld(t, null);
  for (const action of ['install', 'uninstall']) {
    const r = await runAs(['service', action, '--home', w.state], w.env, null);
    assert.equal(r.status, 22, r.stderr);
    const line = JSON.parse(r.stderr.trim().split('\n')[0]) as { code: string; message: string };
    assert.equal(line.code, 'SERVICE_AS_ROOT');
    assert.match(line.message, /--allow-root/);
  }
  assert.deepEqual(await w.calls(), []);
  assert.equal(existsSync(join(w.home, '.config/systemd')), false);
});
