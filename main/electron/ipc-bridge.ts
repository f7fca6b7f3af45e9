/**
 * ipcMain.handle for every contract channel → the router, after the sender check (Electron security
 * checklist #17): the message must come from a webContents we created, from its main frame, showing our
 * own index.html. Snapshots are pushed to every window on `snapshot:changed`.
 */
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { IPC_CHANNELS, SNAPSHOT_CHANGED, THREAD_ENTRIES } from '../ipc/channels';
import { SnapshotSchema, type Snapshot, type ThreadEntriesPush } from '../ipc/contract';
import type { Router } from '../ipc/router';
import { isTrustedSender } from '../desktop/security';
import type { WindowManager } from './windows';
import type { Logger } from '../core/log';

export function setupIpc(router: Router, windows: WindowManager, logger: Logger): () => void {
  const trusted = (event: IpcMainInvokeEvent): boolean => {
    const frame = event.senderFrame;
    return (
      !!frame &&
      isTrustedSender(
        { webContentsId: event.sender.id, isMainFrame: frame === event.sender.mainFrame, frameUrl: frame.url },
        windows.webContentsIds,
        windows.indexUrl,
      )
    );
  };
  for (const channel of IPC_CHANNELS) {
    ipcMain.removeHandler(channel);
    ipcMain.handle(channel, async (event, payload: unknown) => {
      if (!trusted(event)) {
        logger.warn('ipc.forbidden_sender', `Rejected ${channel} from an untrusted sender`, {
          code: 'IPC_FORBIDDEN_SENDER',
        });
        return { ok: false, error: { code: 'IPC_FORBIDDEN_SENDER', message: 'This window may not call the worker.' } };
      }
      const win = BrowserWindow.fromWebContents(event.sender);
      return router.invoke(channel, payload, win ? { kind: 'window', windowId: win.id } : { kind: 'main' });
    });
  }
  return () => {
    for (const channel of IPC_CHANNELS) ipcMain.removeHandler(channel);
  };
}

/** Sends the (contract-parsed) snapshot to every open window. */
export function broadcastSnapshot(windows: WindowManager, snapshot: Snapshot): void {
  const safe = SnapshotSchema.parse(snapshot);
  for (const win of windows.all()) {
    if (!win.webContents.isDestroyed()) win.webContents.send(SNAPSHOT_CHANGED, safe);
  }
}

/** Sends a subscribed thread's new entries (already contract-parsed by the router) to that one window. */
export function pushThreadEntries(windowId: number, push: ThreadEntriesPush): void {
  const win = BrowserWindow.fromId(windowId);
  if (win && !win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(THREAD_ENTRIES, push);
}
