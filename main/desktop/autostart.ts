/**
 * Start at login. macOS/Windows use `app.setLoginItemSettings`; Electron's is a no-op on Linux
 * (electron#15198), so there we write an XDG Autostart entry. This module is the pure part: where the
 * file goes and exactly what it says. `main/electron/autostart.ts` does the I/O.
 */
import { join } from 'node:path';

/** Passed by the login item so a start at login stays in the tray (no dashboard popping up). */
export const HIDDEN_FLAG = '--hidden';
export const AUTOSTART_FILE = 'blobhub-worker.desktop';

/** `$XDG_CONFIG_HOME/autostart/blobhub-worker.desktop`, defaulting to `~/.config`. */
export function linuxAutostartPath(env: NodeJS.ProcessEnv, home: string): string {
  const configHome =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(configHome, 'autostart', AUTOSTART_FILE);
}

/**
 * Quotes one Exec argument per the Desktop Entry spec: arguments with reserved characters are wrapped in
 * double quotes, and `"`, `` ` ``, `$`, `\` escaped with a backslash; `%` doubled (field codes).
 */
export function quoteExecArg(arg: string): string {
  const escaped = arg.replace(/%/g, '%%');
  if (!/[\s"'\\`$<>~|&;*?#()]/.test(escaped) && escaped !== '') return escaped;
  return `"${escaped.replace(/(["`$\\])/g, '\\$1')}"`;
}

export interface AutostartEntryOptions {
  /** The launcher: the AppImage path when running from one (`$APPIMAGE`), else the executable. */
  exec: string;
  args?: string[];
  name?: string;
  comment?: string;
}

export function linuxAutostartEntry({
  exec,
  args = [HIDDEN_FLAG],
  name = 'BlobHub Worker',
  comment,
}: AutostartEntryOptions): string {
  const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.0',
    `Name=${oneLine(name)}`,
    `Comment=${oneLine(comment ?? 'Runs coding agents for BlobHub sessions')}`,
    `Exec=${[exec, ...args].map(quoteExecArg).join(' ')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** The executable a login item should start: an AppImage must be re-run through its own file. */
export function autostartExec(execPath: string, env: NodeJS.ProcessEnv): string {
  return env.APPIMAGE && env.APPIMAGE.startsWith('/') ? env.APPIMAGE : execPath;
}
