/**
 * PURE: snapshot → everything the tray shows. `main/electron/tray.ts` only maps this plain data onto Electron's
 * Tray/Menu, so the menu is tested as data (no spying on Menu.buildFromTemplate). Every clickable item
 * carries a `Command` (an IPC channel + input) that the glue runs through the same router the windows use.
 */
import type { Snapshot } from '../core/snapshot';
import type { Command } from '../ipc/contract';
import {
  failedThreads,
  iconState,
  identityLabel,
  needsLogin,
  promptSummary,
  sectionLabel,
  truncate,
  type IconState,
} from '../display/status';

export type TrayPlatform = 'darwin' | 'linux' | 'win32';

export type TrayItem =
  | { kind: 'separator' }
  /** A disabled status row. */
  | { kind: 'label'; label: string }
  | { kind: 'action'; id: string; label: string; command: Command; enabled: boolean }
  | { kind: 'checkbox'; id: string; label: string; checked: boolean; command: Command }
  | { kind: 'submenu'; id: string; label: string; items: TrayItem[] };

export interface TrayModel {
  icon: IconState;
  /** File under `assets/tray/`: macOS uses black+alpha template images the OS tints. */
  iconFile: string;
  template: boolean;
  /** macOS menu-bar text next to the icon (number of prompts waiting); null elsewhere. */
  title: string | null;
  tooltip: string;
  items: TrayItem[];
  /** Windows convention: left click opens the dashboard. macOS/Linux: click shows the menu. */
  clickOpensDashboard: boolean;
  /** Linux (AppIndicator) only picks up menu changes when the menu is set again. */
  resetMenuOnChange: boolean;
}

export interface TrayOptions {
  platform: TrayPlatform;
  startAtLogin: boolean;
  /** The "turn finished" notice preference (desktop.yaml); shown as a checkbox when given. */
  notifyTurnFinished?: boolean;
}

const PHASE_TEXT: Record<Snapshot['phase'], string> = {
  signed_out: 'Signed out',
  preflight_failed: 'Not running',
  starting: 'Starting…',
  running: 'Running',
  stopping: 'Stopping…',
  stopped: 'Stopped',
};

const ICON_TEXT: Record<IconState, string> = {
  idle: 'idle',
  running: 'working',
  needs_input: 'needs your input',
  error: 'needs attention',
  signed_out: 'signed out',
};

const THREAD_TEXT: Record<string, string> = {
  pending: 'pending',
  active_turn: 'active (turn)',
  active_idle: 'active (idle)',
  completed: 'completed',
  failed: 'failed',
};

/** Windows caps tray tooltips at 127 characters (NOTIFYICONDATA.szTip). */
const TOOLTIP_MAX: Record<TrayPlatform, number> = { win32: 127, darwin: 256, linux: 256 };

const MAX_LISTED = 10;
/** Prompt counts that have their own icon (`needs_input-1.png` … `-9.png`); more show the plain icon. */
export const MAX_ICON_COUNT = 9;

const promptsWaiting = (n: number): string => `${n} prompt${n === 1 ? '' : 's'} waiting`;

/** The first menu row while the app runs the local sandbox (docs/sandbox.md). */
export const SANDBOX_HEADER = 'Sandbox — local demo, not your BlobHub account';

const open = (view: 'dashboard' | 'login'): Command => ({ channel: 'window:open', input: { view } });

export function buildTrayModel(
  snapshot: Snapshot,
  { platform, startAtLogin, notifyTurnFinished }: TrayOptions,
): TrayModel {
  const icon = iconState(snapshot);
  const who = identityLabel(snapshot);
  const failed = failedThreads(snapshot);
  // The desktop's sandbox switch tags the sandbox's snapshots (main/sandbox/desktop.ts): every row below then
  // describes the local demo, and config/logs/sign-out act on the sandbox, so the menu says so.
  const sandbox = snapshot.sandbox === true;
  const inSandbox = (label: string) => (sandbox ? `${label} (sandbox)` : label);
  const items: TrayItem[] = [];

  // Status rows first: Linux panels often show no tooltip, so the menu itself must say what is going on.
  if (sandbox) items.push({ kind: 'label', label: SANDBOX_HEADER });
  items.push({ kind: 'label', label: `BlobHub Worker — ${PHASE_TEXT[snapshot.phase]}` });
  if (who) items.push({ kind: 'label', label: `Signed in as ${who}` });
  if (snapshot.preflight_error)
    items.push({
      kind: 'label',
      label: `${snapshot.preflight_error.code}: ${truncate(snapshot.preflight_error.message, 80)}`,
    });
  if (snapshot.phase === 'running' || snapshot.agents.busy > 0) {
    items.push({ kind: 'label', label: `Agents ${snapshot.agents.busy}/${snapshot.agents.max} busy` });
  }
  if (snapshot.prompts.length > 0) items.push({ kind: 'label', label: promptsWaiting(snapshot.prompts.length) });
  for (const section of snapshot.sections) {
    const code = section.error ? ` (${section.error.code})` : '';
    const threads = section.threads.length === 1 ? '1 thread' : `${section.threads.length} threads`;
    items.push({
      kind: 'label',
      label: `${truncate(sectionLabel(section), 40)}: ${section.attachment}${code} · ${threads}`,
    });
  }

  items.push({ kind: 'separator' });
  items.push({
    kind: 'action',
    id: 'open-dashboard',
    label: 'Open dashboard',
    command: open('dashboard'),
    enabled: true,
  });
  if (sandbox) {
    items.push({
      kind: 'action',
      id: 'leave-sandbox',
      label: 'Leave sandbox (back to your worker)',
      enabled: true,
      command: { channel: 'sandbox:leave', input: undefined },
    });
  }

  if (snapshot.prompts.length > 0) {
    items.push({
      kind: 'submenu',
      id: 'prompts',
      label: `Answer prompts (${snapshot.prompts.length})`,
      items: snapshot.prompts.slice(0, MAX_LISTED).map((p) => ({
        kind: 'action',
        id: `prompt:${p.id}`,
        enabled: true,
        label: `${truncate(p.thread, 24)}: ${truncate(promptSummary(p), 50)}`,
        command: { channel: 'window:open', input: { view: 'prompt', promptId: p.id } },
      })),
    });
  }
  if (failed.length > 0) {
    items.push({
      kind: 'submenu',
      id: 'failed',
      label: `Failed threads (${failed.length})`,
      items: failed.slice(0, MAX_LISTED).flatMap(({ section, thread }): TrayItem[] => [
        {
          kind: 'action',
          id: `reset:${section.id}:${thread.alias}`,
          enabled: true,
          label: `Reset ${truncate(thread.alias, 24)} to pending${thread.last_error ? ` — ${thread.last_error.code}` : ''}`,
          command: { channel: 'thread:reset', input: { sectionId: section.id, alias: thread.alias } },
        },
        {
          kind: 'action',
          id: `view:${section.id}:${thread.alias}`,
          enabled: true,
          label: `Show ${truncate(thread.alias, 24)}'s transcript`,
          command: { channel: 'window:open', input: { view: 'thread', sectionId: section.id, alias: thread.alias } },
        },
      ]),
    });
  }
  if (snapshot.sections.length > 0) {
    items.push({
      kind: 'submenu',
      id: 'sections',
      label: 'Sections',
      items: snapshot.sections.map((section) => ({
        kind: 'submenu',
        id: `section:${section.id}`,
        label: `${truncate(sectionLabel(section), 40)} — ${section.attachment}`,
        items:
          section.threads.length === 0
            ? [{ kind: 'label', label: 'No threads' }]
            : section.threads
                .slice(0, MAX_LISTED * 2)
                .map((t) => ({ kind: 'label', label: `${truncate(t.alias, 30)}: ${THREAD_TEXT[t.state] ?? t.state}` })),
      })),
    });
  }

  items.push({ kind: 'separator' });
  items.push({
    kind: 'action',
    id: 'open-config',
    label: inSandbox('Open config.yaml'),
    command: { channel: 'config:open', input: undefined },
    enabled: true,
  });
  items.push({
    kind: 'action',
    id: 'reload-config',
    label: inSandbox('Reload config'),
    command: { channel: 'config:reload', input: undefined },
    enabled: !needsLogin(snapshot) && snapshot.phase !== 'stopping',
  });
  items.push({
    kind: 'action',
    id: 'open-logs',
    label: inSandbox('Open logs folder'),
    command: { channel: 'logs:open', input: undefined },
    enabled: true,
  });
  items.push({ kind: 'separator' });
  items.push({
    kind: 'checkbox',
    id: 'start-at-login',
    label: 'Start at login',
    checked: startAtLogin,
    command: { channel: 'app:setStartAtLogin', input: { enabled: !startAtLogin } },
  });
  if (notifyTurnFinished !== undefined) {
    items.push({
      kind: 'checkbox',
      id: 'notify-turns',
      label: 'Notify when a turn ends',
      checked: notifyTurnFinished,
      command: { channel: 'app:setNotifyTurnFinished', input: { enabled: !notifyTurnFinished } },
    });
  }
  // In the sandbox, "Sign out" would only leave it (the real credentials are never touched): Leave sandbox says that.
  if (!sandbox) {
    items.push(
      needsLogin(snapshot)
        ? { kind: 'action', id: 'sign-in', label: 'Sign in…', command: open('login'), enabled: true }
        : {
            kind: 'action',
            id: 'sign-out',
            label: 'Sign out',
            command: { channel: 'auth:signOut', input: undefined },
            enabled: true,
          },
    );
  }
  items.push({
    kind: 'action',
    id: 'quit',
    enabled: true,
    command: { channel: 'app:quit', input: undefined },
    label: platform === 'darwin' ? 'Quit BlobHub Worker' : 'Quit (stops agents gracefully)',
  });

  // "sandbox" goes in the first part, so the Windows cap never cuts it off.
  const parts = [`BlobHub Worker${sandbox ? ' (sandbox)' : ''}: ${ICON_TEXT[icon]}`];
  if (who) parts.push(who);
  if (snapshot.phase === 'running') parts.push(`${snapshot.agents.busy}/${snapshot.agents.max} agents`);
  if (snapshot.prompts.length) parts.push(promptsWaiting(snapshot.prompts.length));
  if (failed.length) parts.push(`${failed.length} failed`);
  if (snapshot.preflight_error) parts.push(snapshot.preflight_error.code);

  const template = platform === 'darwin';
  // "Needs input" carries the count in the icon itself (1–9; build/make-icons.mjs), where panels show no title.
  const count = snapshot.prompts.length;
  const base = icon === 'needs_input' && count >= 1 && count <= MAX_ICON_COUNT ? `${icon}-${count}` : icon;
  return {
    icon,
    iconFile: template ? `${base}Template.png` : `${base}.png`,
    template,
    title: platform === 'darwin' ? (snapshot.prompts.length > 0 ? String(snapshot.prompts.length) : '') : null,
    tooltip: truncate(parts.join(' · '), TOOLTIP_MAX[platform]),
    items,
    clickOpensDashboard: platform === 'win32',
    resetMenuOnChange: platform === 'linux',
  };
}
