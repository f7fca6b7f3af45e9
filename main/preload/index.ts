/**
 * The sandboxed preload: exposes `window.workerApi`, one function per contract channel and a snapshot
 * subscription and the subscribed thread's entries, nothing else (never raw ipcRenderer). A sandboxed preload may only require `electron`, so
 * this is bundled into one CJS file with `channels.ts` inlined (no zod here: main validates).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { buildApiMethods, SNAPSHOT_CHANGED, THREAD_ENTRIES } from '../ipc/channels';
import type { Snapshot, ThreadEntriesPush, WorkerApi } from '../ipc/contract';

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
  onThreadEntries(callback: (push: ThreadEntriesPush) => void): () => void {
    const listener = (_event: IpcRendererEvent, push: ThreadEntriesPush) => callback(push);
    ipcRenderer.on(THREAD_ENTRIES, listener);
    return () => {
      ipcRenderer.removeListener(THREAD_ENTRIES, listener);
    };
  },
} satisfies WorkerApi;

contextBridge.exposeInMainWorld('workerApi', Object.freeze(api));
