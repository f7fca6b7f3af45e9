/** OS notifications for what notify-policy decides; a click runs the notification's command. */
import { Notification } from 'electron';
import type { Snapshot } from '../core/snapshot';
import type { Command } from '../ipc/contract';
import { createNotificationCenter, type NotificationCenterDeps } from '../desktop/notify-policy';

export function createNotifier(
  run: (command: Command) => void,
  deps: Pick<NotificationCenterDeps, 'preferences' | 'focusedThread'>,
): (prev: Snapshot | null, next: Snapshot) => void {
  // Electron notifications are garbage-collected (and lose their click handler) unless referenced.
  const live = new Set<Notification>();
  return createNotificationCenter({
    ...deps,
    show(n) {
      if (!Notification.isSupported()) return;
      const note = new Notification({ title: n.title, body: n.body, silent: false });
      live.add(note);
      note.on('click', () => run(n.onClick));
      note.on('close', () => live.delete(note));
      note.show();
    },
  });
}
