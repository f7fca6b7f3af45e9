/**
 * Pure start-up decisions of the tray app: which window (if any) to show once preflight finished.
 * A worker that cannot run does not exit in the app: it shows why and what to do.
 */
import type { Snapshot } from '../core/snapshot';
import type { WindowRequest } from '../ipc/contract';
import { HIDDEN_FLAG } from './autostart';
import { needsLogin } from '../display/status';

export interface StartupOptions {
  argv: readonly string[];
}

/**
 * Sign-in problems → the login window (even when started hidden: nothing works until then);
 * any other preflight failure → the dashboard with its banner; a normal start → the dashboard unless
 * started at login with `--hidden` (then the tray is enough).
 */
export function initialWindow(snapshot: Snapshot, { argv }: StartupOptions): WindowRequest | null {
  if (needsLogin(snapshot)) return { view: 'login' };
  if (snapshot.phase === 'preflight_failed') return { view: 'dashboard' };
  return argv.includes(HIDDEN_FLAG) ? null : { view: 'dashboard' };
}
