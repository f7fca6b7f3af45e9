/**
 * `blobhub-worker service install | uninstall | status` (docs/cli.md → `service`): runs the worker under the
 * platform's service manager — a systemd user unit on Linux, a launchd agent on macOS — for the user who
 * runs the command. As root it refuses unless `--allow-root` asks for a system-wide service (which then runs
 * as root). The unit and plist are pure renderings (main/cli/service); this file does the file and
 * `systemctl` / `launchctl` work.
 */
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, rm, writeFile, rename, chmod } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerError } from '../../core/errors';
import type { StatePaths } from '../../core/state/paths';
import { SERVICE_ACTIONS, type ParsedArgs } from '../args';
import { writeJson } from '../output';
import { capturedEnv, LAUNCHD_LABEL, serviceSpec, type ServiceScope, type ServiceSpec } from '../service/spec';
import { UNIT_FILE, parseSystemctlShow, renderSystemdUnit, unitPath } from '../service/systemd';
import {
  isDisabledIn,
  launchdJob,
  parseLaunchctlPrint,
  plistLogPath,
  plistPath,
  renderPlist,
} from '../service/launchd';

type ServiceAction = (typeof SERVICE_ACTIONS)[number];

type Manager = 'systemd' | 'launchd';

interface Context {
  manager: Manager;
  scope: ServiceScope;
  /** The unit or plist file. */
  file: string;
  userHome: string;
  uid: number;
}

/** The absolute path of the running CLI bundle (dist/cli.js), symlinks resolved: what the service runs. */
function cliPath(): string {
  const here = fileURLToPath(import.meta.url);
  try {
    return realpathSync(here);
  } catch {
    return here;
  }
}

function context(args: ParsedArgs, action: ServiceAction): Context {
  const manager: Manager | null =
    process.platform === 'linux' ? 'systemd' : process.platform === 'darwin' ? 'launchd' : null;
  if (!manager) {
    throw new WorkerError(
      'SERVICE_UNSUPPORTED',
      `service ${action}: no supported service manager on ${process.platform}`,
    );
  }
  const uid = process.getuid?.() ?? -1;
  const root = uid === 0;
  if (root && !args.allowRoot && action !== 'status') {
    throw new WorkerError(
      'SERVICE_AS_ROOT',
      `service ${action} was run as root: the worker and its agents would run as root. Run it as the user the ` +
        'worker should run as, or pass --allow-root for a system-wide service that runs as root.',
    );
  }
  const scope: ServiceScope = root ? 'system' : 'user';
  const userHome = process.env.HOME && process.env.HOME.startsWith('/') ? process.env.HOME : homedir();
  const file =
    manager === 'systemd'
      ? unitPath(scope, { home: userHome, xdgConfigHome: process.env.XDG_CONFIG_HOME })
      : plistPath(scope, userHome);
  return { manager, scope, file, userHome, uid };
}

interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs systemctl / launchctl / loginctl (from PATH), bounded; a missing program is status 127. */
function run(file: string, argv: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, argv, { timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = (error as (NodeJS.ErrnoException & { code?: unknown }) | null)?.code;
      const status = error ? (typeof code === 'number' ? code : code === 'ENOENT' ? 127 : 1) : 0;
      resolve({ status, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') });
    });
  });
}

async function must(file: string, argv: string[], doing: string): Promise<RunResult> {
  const r = await run(file, argv);
  if (r.status === 0) return r;
  const said = (r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' / ');
  const why = r.status === 127 ? `${file} was not found on PATH` : `${file} ${argv.join(' ')} exited ${r.status}`;
  throw new WorkerError('SERVICE_MANAGER_FAILED', `${doing}: ${why}${said ? `: ${said}` : ''}`);
}

const systemctl = (ctx: Context, ...argv: string[]): string[] => (ctx.scope === 'user' ? ['--user', ...argv] : argv);
const launchdDomain = (ctx: Context): string => (ctx.scope === 'user' ? `gui/${ctx.uid}` : 'system');

/** Written atomically (temp file + rename); 0600 because it may carry proxy credentials from the shell. */
async function writeServiceFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export async function serviceCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  const action = args.positionals[0] as ServiceAction;
  const ctx = context(args, action);
  switch (action) {
    case 'install':
      return install(ctx, paths, args);
    case 'uninstall':
      return uninstall(ctx, args);
    case 'status':
      return status(ctx, paths, args);
  }
}

async function install(ctx: Context, paths: StatePaths, args: ParsedArgs): Promise<number> {
  if (!existsSync(paths.credentials)) {
    throw new WorkerError(
      'CREDENTIALS_NOT_FOUND',
      `no credentials in ${paths.root}: log in first (\`blobhub-worker login --home ${paths.root}\`), then install the service`,
    );
  }
  const spec: ServiceSpec = serviceSpec({
    scope: ctx.scope,
    nodePath: process.execPath,
    cliPath: cliPath(),
    home: paths.root,
    env: capturedEnv(process.env),
  });
  const start = !args.noStart;
  if (ctx.manager === 'systemd') {
    await writeServiceFile(ctx.file, renderSystemdUnit(spec));
    await must(
      'systemctl',
      systemctl(ctx, 'daemon-reload'),
      `unit written to ${ctx.file}, but reloading systemd failed`,
    );
    await must('systemctl', systemctl(ctx, 'enable', UNIT_FILE), `unit written to ${ctx.file}, but enabling it failed`);
    // restart, not start: a re-install must run the new unit.
    if (start)
      await must('systemctl', systemctl(ctx, 'restart', UNIT_FILE), 'the unit is enabled, but starting it failed');
  } else {
    const log = plistLogPath(ctx.scope, ctx.userHome);
    await mkdir(dirname(log), { recursive: true });
    await writeServiceFile(ctx.file, renderPlist(launchdJob(spec, log)));
    const target = `${launchdDomain(ctx)}/${LAUNCHD_LABEL}`;
    // A loaded older job is unloaded first (bootstrap refuses a loaded label); not loaded is fine.
    await run('launchctl', ['bootout', target]);
    await must('launchctl', ['enable', target], `plist written to ${ctx.file}, but enabling it failed`);
    if (start)
      await must('launchctl', ['bootstrap', launchdDomain(ctx), ctx.file], 'the job is enabled, but loading it failed');
  }
  const linger = ctx.manager === 'systemd' && ctx.scope === 'user' ? await lingering() : null;
  const out = {
    event: 'service_installed',
    manager: ctx.manager,
    scope: ctx.scope,
    file: ctx.file,
    started: start,
    state_root: paths.root,
    exec: [spec.nodePath, ...spec.nodeFlags, spec.cliPath, 'start', '--home', spec.home],
    linger,
  };
  if (args.json) writeJson(out);
  else {
    process.stdout.write(
      `Installed ${ctx.file} (${describe(ctx)}); ${start ? 'enabled and started' : 'enabled, not started (--no-start)'}.\n` +
        `State root: ${paths.root}\n` +
        `Logs: ${logsHint(ctx)}\n`,
    );
    if (linger === false) {
      process.stdout.write(
        `Note: lingering is off for ${userInfo().username}, so the service stops when you log out. ` +
          `To keep it running: loginctl enable-linger ${userInfo().username}\n`,
      );
    }
  }
  return 0;
}

async function uninstall(ctx: Context, args: ParsedArgs): Promise<number> {
  const present = existsSync(ctx.file);
  if (ctx.manager === 'systemd') {
    // disable --now also stops it; a unit systemd never loaded is not an error here.
    if (present) await must('systemctl', systemctl(ctx, 'disable', '--now', UNIT_FILE), 'stopping the service failed');
    await rm(ctx.file, { force: true });
    if (present) await must('systemctl', systemctl(ctx, 'daemon-reload'), 'reloading systemd failed');
  } else {
    await run('launchctl', ['bootout', `${launchdDomain(ctx)}/${LAUNCHD_LABEL}`]);
    await rm(ctx.file, { force: true });
  }
  const out = {
    event: 'service_uninstalled',
    manager: ctx.manager,
    scope: ctx.scope,
    file: ctx.file,
    was_installed: present,
  };
  if (args.json) writeJson(out);
  else
    process.stdout.write(
      present ? `Stopped and removed ${ctx.file}.\n` : `Nothing to remove: ${ctx.file} does not exist.\n`,
    );
  return 0;
}

async function status(ctx: Context, paths: StatePaths, args: ParsedArgs): Promise<number> {
  const installed = existsSync(ctx.file);
  let enabled: boolean;
  let running: boolean;
  let state: string | null;
  let pid: number | null;
  if (ctx.manager === 'systemd') {
    const r = await must(
      'systemctl',
      systemctl(ctx, 'show', UNIT_FILE, '--property=LoadState,UnitFileState,ActiveState,SubState,MainPID'),
      'asking systemd for the service state failed',
    );
    const show = parseSystemctlShow(r.stdout);
    const unitFileState = show.get('UnitFileState') ?? '';
    enabled = unitFileState === 'enabled' || unitFileState === 'enabled-runtime';
    const active = show.get('ActiveState') ?? 'unknown';
    running = active === 'active';
    state = `${active}/${show.get('SubState') ?? 'unknown'}${unitFileState ? `, ${unitFileState}` : ''}`;
    const main = Number(show.get('MainPID') ?? 0);
    pid = running && main > 0 ? main : null;
  } else {
    const printed = await run('launchctl', ['print', `${launchdDomain(ctx)}/${LAUNCHD_LABEL}`]);
    const parsed = printed.status === 0 ? parseLaunchctlPrint(printed.stdout) : { state: null, pid: null };
    const disabled = await run('launchctl', ['print-disabled', launchdDomain(ctx)]);
    enabled = installed && !(disabled.status === 0 && isDisabledIn(disabled.stdout));
    running = parsed.state === 'running';
    state = printed.status === 0 ? (parsed.state ?? 'loaded') : 'not loaded';
    pid = running ? parsed.pid : null;
  }
  const linger = ctx.manager === 'systemd' && ctx.scope === 'user' ? await lingering() : null;
  const out = {
    manager: ctx.manager,
    scope: ctx.scope,
    file: ctx.file,
    installed,
    enabled,
    running,
    state,
    pid,
    linger,
    state_root: paths.root,
  };
  if (args.json) {
    writeJson(out);
    return 0;
  }
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  process.stdout.write(
    [
      `Service:   ${describe(ctx)}`,
      `File:      ${ctx.file}${installed ? '' : ' (not installed: `blobhub-worker service install`)'}`,
      `Enabled:   ${yes(enabled)}`,
      `Running:   ${yes(running)} (${state}${pid ? `, pid ${pid}` : ''})`,
      ...(linger === null ? [] : [`Lingering: ${yes(linger)}${linger ? '' : ' (the service stops at logout)'}`]),
      `Logs:      ${logsHint(ctx)}`,
      '',
    ].join('\n'),
  );
  return 0;
}

/** Whether systemd keeps the user's manager running without a login session (null: unknown). */
async function lingering(): Promise<boolean | null> {
  const r = await run('loginctl', ['show-user', userInfo().username, '--property=Linger']);
  if (r.status !== 0) return null;
  const v = parseSystemctlShow(r.stdout).get('Linger');
  return v === 'yes' ? true : v === 'no' ? false : null;
}

function describe(ctx: Context): string {
  if (ctx.manager === 'systemd') return `${UNIT_FILE}, systemd ${ctx.scope === 'user' ? 'user unit' : 'system unit'}`;
  return `${LAUNCHD_LABEL}, launchd ${ctx.scope === 'user' ? 'agent' : 'daemon'}`;
}

function logsHint(ctx: Context): string {
  if (ctx.manager === 'systemd') return `journalctl ${ctx.scope === 'user' ? '--user ' : ''}-u ${UNIT_FILE} -f`;
  return plistLogPath(ctx.scope, ctx.userHome);
}
