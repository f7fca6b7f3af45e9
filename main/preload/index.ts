/**
 * The sandboxed preload: exposes `window.workerApi`, one function per contract channel and a snapshot
 * subscription, nothing else (never raw ipcRenderer). A sandboxed preload may only require `electron`, so
 * this is bundled into one CJS file with `channels.ts` inlined (no zod here: main validates).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { buildApiMethods, SNAPSHOT_CHANGED } from '../ipc/channels';
import type { Snapshot, WorkerApi } from '../ipc/contract';

const methods = buildApiMethods((channel, input) => ipcRenderer.invoke(channel, input));

const api = {
  ...methods,
  onSnapshot(callback: (snapshot: Snapshot) => void): () => void {
    // The IpcRendererEvent stays here: handing it to the page would leak `sender` (ipcRenderer).
    const listener = (_event: IpcRendererEvent, snapshot: Snapshot) => callback(snapshot);
    ipcRenderer.on(SNAPSHOT_CHANGED, listener);
    return () => {
      ipcRenderer.removeListener(SNAPSHOT_CHANGED, listener);
    };
  },
} satisfies WorkerApi;

contextBridge.exposeInMainWorld('workerApi', Object.freeze(api));
