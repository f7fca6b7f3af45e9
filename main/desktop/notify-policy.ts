/**
 * PURE: which OS notifications a snapshot change deserves. One per NEW thread failure (keyed by
 * section + alias + error.at, so the same failure never notifies twice but a later failure of the same
 * thread does) and one per NEW pending prompt (keyed by prompt id). `seen` is the caller's memory across
 * calls; this function adds to it.
 */
import type { Snapshot } from '../core/snapshot';
import type { Command } from '../ipc/contract';
import { failedThreads, promptSummary, sectionLabel, truncate } from '../display/status';

export interface DesktopNotification {
  key: string;
  title: string;
  body: string;
  /** What a click does. */
  onClick: Command;
}

/** Bound on remembered keys; the oldest are forgotten first (a Set keeps insertion order). */
export const SEEN_LIMIT = 2000;

function keysOf(snapshot: Snapshot): {
  failures: Map<string, DesktopNotification>;
  prompts: Map<string, DesktopNotification>;
} {
  const failures = new Map<string, DesktopNotification>();
  for (const { section, thread } of failedThreads(snapshot)) {
    const at = thread.last_error?.at ?? 'unknown';
    const key = `failed:${section.id}:${thread.alias}:${at}`;
    failures.set(key, {
      key,
      title: `Thread failed: ${truncate(thread.alias, 40)}`,
      body: thread.last_error
        ? `${sectionLabel(section)} · ${thread.last_error.code}: ${truncate(thread.last_error.message, 160)}`
        : sectionLabel(section),
      onClick: { channel: 'window:open', input: { view: 'dashboard' } },
    });
  }
  const prompts = new Map<string, DesktopNotification>();
  for (const prompt of snapshot.prompts) {
    const key = `prompt:${prompt.id}`;
    prompts.set(key, {
      key,
      title: `Input needed: ${truncate(prompt.thread, 40)}`,
      body: truncate(promptSummary(prompt), 200),
      onClick: { channel: 'window:open', input: { view: 'prompt', promptId: prompt.id } },
    });
  }
  return { failures, prompts };
}

/**
 * `prev === null` is the app's first look at the worker: failures recorded before the app started are
 * remembered silently (they are old news, shown in the tray and dashboard), prompts still notify.
 */
export function notificationsFor(prev: Snapshot | null, next: Snapshot, seen: Set<string>): DesktopNotification[] {
  const { failures, prompts } = keysOf(next);
  const out: DesktopNotification[] = [];
  for (const [key, n] of failures) {
    if (seen.has(key)) continue;
    seen.add(key);
    if (prev !== null) out.push(n);
  }
  for (const [key, n] of prompts) {
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(n);
  }
  while (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string);
  return out;
}
