/** OS notifications for what notify-policy decides; a click runs the notification's command. */
import { Notification } from 'electron';
import type { Snapshot } from '../core/snapshot';
import type { Command } from '../ipc/contract';
import { notificationsFor } from '../desktop/notify-policy';

export function createNotifier(run: (command: Command) => void): (prev: Snapshot | null, next: Snapshot) => void {
  const seen = new Set<string>();
  // Electron notifications are garbage-collected (and lose their click handler) unless referenced.
  const live = new Set<Notification>();
  return (prev, next) => {
    const due = notificationsFor(prev, next, seen);
    if (due.length === 0 || !Notification.isSupported()) return;
    for (const n of due) {
      const note = new Notification({ title: n.title, body: n.body, silent: false });
      live.add(note);
      note.on('click', () => run(n.onClick));
      note.on('close', () => live.delete(note));
      note.show();
    }
  };
}
