/**
 * PURE: which OS notifications a snapshot change deserves (docs/desktop.md "Notifications"), and where a click
 * takes the user. One per NEW thread failure (keyed by section + alias + error.at, so the same failure never
 * notifies twice but a later failure of the same thread does) → that thread's view; one per NEW pending prompt
 * (keyed by prompt id) → that prompt's window; optionally one per finished turn (keyed by section + alias + turn
 * count) → the thread's view. Nothing is shown about the thread the focused dashboard shows: the user is
 * already looking at it (the key is still remembered, so it does not pop up later). `seen` is the caller's
 * memory across calls; this function adds to it.
 */
import type { Snapshot, SnapshotSection, SnapshotThread } from '../core/snapshot';
import type { Command } from '../ipc/contract';
import { failedThreads, promptSummary, sectionLabel, truncate } from '../display/status';

export interface DesktopNotification {
  key: string;
  title: string;
  body: string;
  /** What a click does. */
  onClick: Command;
}

/** The thread a window shows (its transcript subscription). */
export interface ThreadRef {
  sectionId: string;
  alias: string;
}

export interface NotifyContext {
  /** The thread the focused dashboard window shows, if any: nothing about it is notified. */
  focusedThread: ThreadRef | null;
  /** The "turn finished" notice (a preference, off by default). */
  notifyTurnFinished: boolean;
}

export const DEFAULT_NOTIFY_CONTEXT: NotifyContext = { focusedThread: null, notifyTurnFinished: false };

/** Bound on remembered keys; the oldest are forgotten first (a Set keeps insertion order). */
export const SEEN_LIMIT = 2000;

const openThread = (sectionId: string, alias: string): Command => ({
  channel: 'window:open',
  input: { view: 'thread', sectionId, alias },
});

interface Due {
  notification: DesktopNotification;
  thread: ThreadRef;
}

function turnsOf(snapshot: Snapshot | null, sectionId: string, alias: string): number | null {
  const t = snapshot?.sections.find((s) => s.id === sectionId)?.threads.find((x) => x.alias === alias);
  return t ? t.stats.turns : null;
}

function turnBody(section: SnapshotSection, t: SnapshotThread): string {
  const s = t.stats;
  return `${sectionLabel(section)} · ${s.turns} ${s.turns === 1 ? 'turn' : 'turns'} so far${t.open_prompt_id ? ' · waiting for input' : ''}`;
}

function candidates(
  prev: Snapshot | null,
  next: Snapshot,
  context: NotifyContext,
): { failures: Due[]; prompts: Due[]; turns: Due[] } {
  const failures: Due[] = [];
  for (const { section, thread } of failedThreads(next)) {
    const at = thread.last_error?.at ?? 'unknown';
    const key = `failed:${section.id}:${thread.alias}:${at}`;
    failures.push({
      thread: { sectionId: section.id, alias: thread.alias },
      notification: {
        key,
        title: `Thread failed: ${truncate(thread.alias, 40)}`,
        body: thread.last_error
          ? `${sectionLabel(section)} · ${thread.last_error.code}: ${truncate(thread.last_error.message, 160)}`
          : sectionLabel(section),
        onClick: openThread(section.id, thread.alias),
      },
    });
  }
  const prompts: Due[] = next.prompts.map((prompt) => ({
    thread: { sectionId: prompt.section, alias: prompt.thread },
    notification: {
      key: `prompt:${prompt.id}`,
      title: `Input needed: ${truncate(prompt.thread, 40)}`,
      body: truncate(promptSummary(prompt), 200),
      onClick: { channel: 'window:open', input: { view: 'prompt', promptId: prompt.id } },
    },
  }));
  const turns: Due[] = [];
  if (context.notifyTurnFinished && prev !== null) {
    for (const section of next.sections) {
      for (const t of section.threads) {
        const before = turnsOf(prev, section.id, t.alias);
        if (before === null || t.stats.turns <= before) continue;
        turns.push({
          thread: { sectionId: section.id, alias: t.alias },
          notification: {
            key: `turn:${section.id}:${t.alias}:${t.stats.turns}`,
            title: `Turn finished: ${truncate(t.alias, 40)}`,
            body: turnBody(section, t),
            onClick: openThread(section.id, t.alias),
          },
        });
      }
    }
  }
  return { failures, prompts, turns };
}

const sameThread = (a: ThreadRef | null, b: ThreadRef): boolean =>
  a !== null && a.sectionId === b.sectionId && a.alias === b.alias;

/**
 * `prev === null` is the app's first look at the worker: failures recorded before the app started are
 * remembered silently (they are old news, shown in the tray and dashboard), prompts still notify.
 */
export function notificationsFor(
  prev: Snapshot | null,
  next: Snapshot,
  seen: Set<string>,
  context: NotifyContext = DEFAULT_NOTIFY_CONTEXT,
): DesktopNotification[] {
  const { failures, prompts, turns } = candidates(prev, next, context);
  const out: DesktopNotification[] = [];
  const consider = (due: Due[], silent: boolean) => {
    for (const { notification, thread } of due) {
      if (seen.has(notification.key)) continue;
      seen.add(notification.key);
      if (!silent && !sameThread(context.focusedThread, thread)) out.push(notification);
    }
  };
  consider(failures, prev === null);
  consider(prompts, false);
  consider(turns, false);
  while (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string);
  return out;
}

export interface NotificationCenterDeps {
  preferences(): { notifyTurnFinished: boolean };
  /** The thread shown by the focused window, if a window is focused and shows one. */
  focusedThread(): ThreadRef | null;
  show(notification: DesktopNotification): void;
}

/** The app's notifier minus the OS: remembers what was shown, asks for focus and preferences per change. */
export function createNotificationCenter(
  deps: NotificationCenterDeps,
): (prev: Snapshot | null, next: Snapshot) => void {
  const seen = new Set<string>();
  return (prev, next) => {
    const context = { focusedThread: deps.focusedThread(), notifyTurnFinished: deps.preferences().notifyTurnFinished };
    for (const n of notificationsFor(prev, next, seen, context)) deps.show(n);
  };
}
