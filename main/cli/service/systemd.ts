/**
 * The systemd unit of `service install` on Linux (docs/cli.md → `service`), as a pure function of the spec:
 * a user unit (`~/.config/systemd/user`, `systemctl --user`) by default, a system unit
 * (`/etc/systemd/system`) only for `--allow-root`. Logs are the worker's JSON lines on stderr, kept by the
 * journal (`journalctl --user -u blobhub-worker`).
 */
import { join } from 'node:path';
import { NO_RESTART_STATUSES, SERVICE_NAME, serviceArgv, type ServiceScope, type ServiceSpec } from './spec';

export const UNIT_FILE = `${SERVICE_NAME}.service`;

/** Where the unit goes: `$XDG_CONFIG_HOME/systemd/user` (default `~/.config`), or `/etc/systemd/system`. */
export function unitPath(scope: ServiceScope, env: { home: string; xdgConfigHome?: string | undefined }): string {
  if (scope === 'system') return join('/etc/systemd/system', UNIT_FILE);
  const config = env.xdgConfigHome && env.xdgConfigHome.startsWith('/') ? env.xdgConfigHome : join(env.home, '.config');
  return join(config, 'systemd', 'user', UNIT_FILE);
}

/** `%` starts a specifier in every unit setting; `%%` is a literal percent sign. */
const specifierSafe = (s: string): string => s.replace(/%/g, '%%');

/**
 * One word of ExecStart= (systemd.service "Command lines"): `$` starts a variable (`$$` is literal); a word
 * with anything but plain path characters is double-quoted, with `\` and `"` escaped.
 */
export function execWord(word: string): string {
  const s = specifierSafe(word).replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9/_.:=@+,%$-]+$/.test(s)) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** One `Environment=` assignment, quoted as a whole (systemd.exec "Environment="). */
export function environmentLine(name: string, value: string): string {
  return `Environment="${specifierSafe(`${name}=${value}`).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function renderSystemdUnit(spec: ServiceSpec): string {
  const system = spec.scope === 'system';
  const lines = [
    `# Written by \`blobhub-worker service install\`; run it again to update this file,`,
    `# \`blobhub-worker service uninstall\` to remove it (docs/cli.md, "service").`,
    '[Unit]',
    'Description=BlobHub worker (runs coding agents for BlobHub sessions)',
    // The system manager knows when the network is up; a user manager cannot order on system targets, and
    // the worker retries the API by itself (a failed preflight, status 20, is restarted below).
    ...(system ? ['Wants=network-online.target', 'After=network-online.target'] : []),
    '',
    '[Service]',
    'Type=exec',
    `ExecStart=${serviceArgv(spec).map(execWord).join(' ')}`,
    `WorkingDirectory=${specifierSafe(spec.home)}`,
    ...spec.env.map(([name, value]) => environmentLine(name, value)),
    'UMask=0077',
    'Restart=on-failure',
    'RestartSec=10s',
    // Configuration problems (bad key, config, a second worker): restarting would only repeat the error.
    `RestartPreventExitStatus=${NO_RESTART_STATUSES.join(' ')}`,
    // SIGTERM to the worker only: it stops its agents at a turn boundary and drains the outboxes itself
    // (docs/harness.md); whatever is left after the timeout is killed.
    'KillMode=mixed',
    'TimeoutStopSec=60s',
    'StandardOutput=journal',
    'StandardError=journal',
    `SyslogIdentifier=${SERVICE_NAME}`,
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ];
  return lines.join('\n');
}

/** `systemctl show` output (`Key=value` lines) → a map. */
export function parseSystemctlShow(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) out.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return out;
}
