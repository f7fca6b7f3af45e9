/**
 * The IPC channel names, as a plain list with no dependencies: the sandboxed preload can only `require`
 * `electron`, so it bundles this file (and not zod). `contract.ts` checks at compile time that this list and
 * the contract's keys are the same set.
 */
import type { WorkerApi } from './contract';
export const IPC_CHANNELS = [
  'snapshot:get',
  'auth:login',
  'auth:signOut',
  'thread:reset',
  'thread:openFolder',
  'thread:interrupt',
  'thread:revokeGrant',
  'thread:openLog',
  'thread:transcript',
  'thread:subscribe',
  'thread:unsubscribe',
  'section:detach',
  'section:reattach',
  'handoff:update',
  'prompt:answer',
  'config:open',
  'config:reload',
  'logs:open',
  'app:getSettings',
  'app:setStartAtLogin',
  'app:setNotifyTurnFinished',
  'app:quit',
  'window:open',
  'window:close',
  'sandbox:start',
  'sandbox:leave',
] as const;

export type Channel = (typeof IPC_CHANNELS)[number];

/** Main → renderer push: the full snapshot after every change. */
export const SNAPSHOT_CHANGED = 'snapshot:changed';
/** Main → renderer push: new and changed transcript entries of the thread this window subscribed to. */
export const THREAD_ENTRIES = 'thread:entries';

/** `thread:openLog` → `threadOpenLog`: the method name the preload exposes for a channel. */
export type MethodName<C extends string> = C extends `${infer D}:${infer V}` ? `${D}${Capitalize<V>}` : never;

export function methodName<C extends Channel>(channel: C): MethodName<C> {
  const [domain, verb] = channel.split(':') as [string, string];
  return `${domain}${verb.charAt(0).toUpperCase()}${verb.slice(1)}` as MethodName<C>;
}

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (IPC_CHANNELS as readonly string[]).includes(value);
}

/**
 * Builds the object the preload exposes as `window.workerApi`: one function per channel, nothing else.
 * The preload and the renderer test harness both derive their API from this list, so they cannot drift.
 */
export function buildApiMethods(invoke: (channel: Channel, input: unknown) => Promise<unknown>): ApiMethods {
  const api: Record<string, (input?: unknown) => Promise<unknown>> = {};
  for (const channel of IPC_CHANNELS) api[methodName(channel)] = (input?: unknown) => invoke(channel, input);
  // The one cast: each method forwards its input to its own channel, and main answers that channel's envelope.
  return api as unknown as ApiMethods;
}

/** The method half of `WorkerApi` (types only: this file stays free of runtime imports). */
export type ApiMethods = Omit<WorkerApi, 'onSnapshot' | 'onThreadEntries'>;
