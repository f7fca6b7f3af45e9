/**
 * The app's own preferences (docs/desktop.md "Settings"), in `<state root>/desktop.yaml`: only what the OS does
 * not already keep (start at login is the OS's login item). A missing file means the defaults; a broken one
 * is reported and left alone (STATE_FILE_INVALID, the defaults apply) until the user saves a change, which
 * replaces it.
 */
import { z } from 'zod';
import { readYamlFile, writeYamlAtomic } from '../core/state/yaml-file';
import { toWorkerError, type WorkerError } from '../core/errors';

export const PREFERENCES_FILE = 'desktop.yaml';

const PreferencesFile = z.object({
  notifications: z
    .object({
      /** A notice when a thread's turn ends (off by default: busy threads end many turns). */
      turn_finished: z.boolean().default(false),
    })
    .default({ turn_finished: false }),
});

export interface DesktopPreferences {
  notifyTurnFinished: boolean;
}

export const DEFAULT_PREFERENCES: DesktopPreferences = { notifyTurnFinished: false };

export interface PreferencesStore {
  readonly value: DesktopPreferences;
  /** Why the file was not used, when it was broken (shown once in the log). */
  readonly problem: WorkerError | null;
  set(patch: Partial<DesktopPreferences>): Promise<DesktopPreferences>;
}

export async function openPreferences(path: string): Promise<PreferencesStore> {
  let value = { ...DEFAULT_PREFERENCES };
  let problem: WorkerError | null = null;
  try {
    const file = await readYamlFile(path, PreferencesFile);
    if (file) value = { notifyTurnFinished: file.notifications.turn_finished };
  } catch (e) {
    problem = toWorkerError(e);
  }
  return {
    get value() {
      return { ...value };
    },
    problem,
    async set(patch) {
      const next = { ...value, ...patch };
      await writeYamlAtomic(path, { notifications: { turn_finished: next.notifyTurnFinished } }, { mode: 0o600 });
      value = next;
      return { ...value };
    },
  };
}
