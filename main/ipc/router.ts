/**
 * The main-process side of the IPC contract, with no Electron in it: validate the input with zod, call the
 * WorkerHost or an OS port, parse the output through the contract and answer an envelope
 * `{ok:true,data} | {ok:false,error:{code,message,remediation}}` (Electron drops everything but the message
 * from a thrown error, electron#24427). The Electron glue (main/electron/ipc-bridge.ts) checks the sender and
 * forwards here; tray clicks and notification clicks come here too, as `Command`s from the main process.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import type { WorkerHost, HandoffPatch as CoreHandoffPatch, LoginResult as CoreLoginResult } from '../core/host';
import type { PromptAnswer as CorePromptAnswer } from '../core/agents/types';
import { WorkerError, codeInfo, toWorkerError, type ErrorCode } from '../core/errors';
import { redact, type Logger } from '../core/log';
import { StatePaths } from '../core/state/paths';
import { CONFIG_TEMPLATE } from '../core/state/config';
import type { Snapshot } from '../core/snapshot';
import { needsLogin } from '../display/status';
import { isChannel, type Channel } from './channels';
import {
  contract,
  type AppSettings,
  type Input,
  type IpcResult,
  type Output,
  type WindowRequest,
  type HandoffPatch,
  type PromptAnswer,
  type LoginResult,
  type ThreadEntriesPush,
} from './contract';
import { ThreadEntriesPush as ThreadEntriesPushSchema } from './contract';

// Compile-time guarantees that the contract's schemas and the core's types agree.
const _answer = (a: PromptAnswer): CorePromptAnswer => a;
const _patch = (p: HandoffPatch): CoreHandoffPatch => p;
const _login = (r: CoreLoginResult): z.input<(typeof contract)['auth:login']['output']> => r;
void _answer;
void _patch;
void _login;
export type { LoginResult };

/** Who is calling: a window we created (identified by the glue) or the main process itself (tray, notifications). */
export type IpcSender = { kind: 'window'; windowId: number } | { kind: 'main' };

/** Everything OS-ish the router needs; the Electron glue implements it, tests pass fakes. */
export interface DesktopPorts {
  readonly platform: AppSettings['platform'];
  readonly version: string;
  /** Opens a file or folder with the OS default handler; rejects when the OS refuses. */
  openPath(path: string): Promise<void>;
  getStartAtLogin(): Promise<boolean>;
  setStartAtLogin(enabled: boolean): Promise<void>;
  /** Graceful quit: the glue stops the host before the process exits. */
  quit(): void;
  openWindow(request: WindowRequest): void;
  closeWindow(windowId: number): void;
  /** The "turn finished" notice preference (the glue keeps it in desktop.yaml, main/desktop/preferences.ts). */
  getNotifyTurnFinished(): boolean;
  setNotifyTurnFinished(enabled: boolean): Promise<void>;
  /** Sends `thread:entries` to one window (the one subscribed to that thread). */
  pushThreadEntries(windowId: number, push: ThreadEntriesPush): void;
}

/** The desktop's sandbox switch (main/sandbox/desktop.ts); absent → `sandbox:start` answers SANDBOX_NOT_AVAILABLE. */
export interface SandboxPort {
  start(): Promise<void>;
  leave(): Promise<void>;
}

export interface RouterDeps {
  host: WorkerHost;
  ports: DesktopPorts;
  logger?: Logger;
  sandbox?: SandboxPort;
}

export interface Router {
  invoke(channel: unknown, payload: unknown, sender: IpcSender): Promise<IpcResult<unknown>>;
  /** The thread a window is subscribed to (what its thread view shows), or null. */
  watchedBy(windowId: number): { sectionId: string; alias: string } | null;
  /** A window closed: its subscription ends. */
  windowClosed(windowId: number): void;
}

type Handlers = {
  [C in Channel]: (input: z.output<(typeof contract)[C]['input']>, sender: IpcSender) => Promise<Output<C>> | Output<C>;
};

/** `apiKey: must not be empty; answer.kind: Invalid input` — names each failing field, never echoes values. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(input)'}: ${i.message}`)
    .join('; ');
}

function failure(code: ErrorCode, message: string): IpcResult<never> {
  return { ok: false, error: { code, message: redact(message), remediation: codeInfo(code).remediation } };
}

function findThread(snapshot: Snapshot, sectionId: string, alias: string) {
  const section = snapshot.sections.find((s) => s.id === sectionId);
  const thread = section?.threads.find((t) => t.alias === alias);
  if (!thread) throw new WorkerError('NOT_FOUND', `No thread "${alias}" in section "${sectionId}".`);
  return thread;
}

export function createRouter({ host, ports, logger, sandbox }: RouterDeps): Router {
  // Looked up per call: the host's state root changes when the app switches to the sandbox and back.
  const paths = () => new StatePaths(host.stateRoot);
  const settings = async (): Promise<AppSettings> => ({
    platform: ports.platform,
    startAtLogin: await ports.getStartAtLogin(),
    version: ports.version,
    notifyTurnFinished: ports.getNotifyTurnFinished(),
  });
  /** One thread subscription per window: a window shows one thread view at a time. */
  const watching = new Map<number, { sectionId: string; alias: string; stop: () => void }>();
  const unwatch = (windowId: number) => {
    watching.get(windowId)?.stop();
    watching.delete(windowId);
  };
  const open = async (path: string): Promise<null> => {
    try {
      await ports.openPath(path);
    } catch (e) {
      throw new WorkerError('OPEN_FAILED', `Could not open ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return null;
  };

  const handlers: Handlers = {
    'snapshot:get': () => host.snapshot(),
    'auth:login': async (input) => {
      const result = await host.login(input);
      // login only writes credentials/identity; the app then (re)starts the worker under them. Not awaited:
      // preflight may retry a slow network, and the snapshot push tells every window how it went.
      if (result.ok) {
        void host.reloadConfig().catch((e: unknown) => logger?.error('ipc.restart_failed', toWorkerError(e).message));
      }
      return result;
    },
    'auth:signOut': async () => (await host.signOut(), null),
    'thread:reset': async ({ sectionId, alias }) => (await host.resetThread(sectionId, alias), null),
    'thread:interrupt': async ({ sectionId, alias }) => (await host.interruptTurn(sectionId, alias), null),
    'thread:revokeGrant': async ({ sectionId, alias, rule }) => (await host.revokeGrant(sectionId, alias, rule), null),
    // Paths come from the snapshot, never from the renderer: a window cannot make us open an arbitrary path.
    'thread:openFolder': async ({ sectionId, alias }) => {
      const folder = findThread(host.snapshot(), sectionId, alias).work_folder;
      if (!folder) throw new WorkerError('NOT_FOUND', `Thread "${alias}" has no work folder yet.`);
      return open(folder);
    },
    'thread:openLog': ({ sectionId, alias }) => open(findThread(host.snapshot(), sectionId, alias).thread_log),
    'section:detach': async ({ sectionId }) => (await host.detachSection(sectionId), null),
    'section:reattach': async ({ sectionId }) => (await host.reattachSection(sectionId), null),
    'handoff:update': async ({ sectionId, alias, patch }) => (await host.updateHandoff(sectionId, alias, patch), null),
    'prompt:answer': async ({ promptId, answer }) => (await host.answerPrompt(promptId, answer), null),
    'config:open': async () => {
      // A new user has no config.yaml yet: start them from the documented template instead of an OS error.
      const config = paths().config;
      if (!existsSync(config)) {
        await mkdir(host.stateRoot, { recursive: true, mode: 0o700 });
        await writeFile(config, CONFIG_TEMPLATE, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
      }
      return open(config);
    },
    'config:reload': async () => (await host.reloadConfig(), null),
    'logs:open': async () => {
      const logs = paths().logsDir;
      await mkdir(logs, { recursive: true, mode: 0o700 });
      return open(logs);
    },
    'thread:transcript': ({ sectionId, alias, before, limit }) =>
      host.threadTranscript(sectionId, alias, {
        ...(before !== undefined ? { before } : {}),
        ...(limit !== undefined ? { limit } : {}),
      }),
    'thread:subscribe': async ({ sectionId, alias }, sender) => {
      // Subscribed before the first page is read, so no entry falls between the page and the first push
      // (the view replaces by seq, so one seen twice is harmless).
      if (sender.kind === 'window') {
        const windowId = sender.windowId;
        unwatch(windowId);
        const stop = host.subscribeThread(sectionId, alias, (entries) => {
          // Parsed like every output: only the contract's fields reach the window.
          const push = ThreadEntriesPushSchema.safeParse({ sectionId, alias, entries });
          if (push.success) ports.pushThreadEntries(windowId, push.data);
          else logger?.error('ipc.bad_push', describeIssues(push.error), { code: 'INTERNAL_ERROR' });
        });
        watching.set(windowId, { sectionId, alias, stop });
      }
      try {
        return await host.threadTranscript(sectionId, alias);
      } catch (e) {
        if (sender.kind === 'window') unwatch(sender.windowId);
        throw e;
      }
    },
    'thread:unsubscribe': (_input, sender) => {
      if (sender.kind === 'window') unwatch(sender.windowId);
      return null;
    },
    'app:getSettings': () => settings(),
    'app:setNotifyTurnFinished': async ({ enabled }) => {
      await ports.setNotifyTurnFinished(enabled);
      return settings();
    },
    'app:setStartAtLogin': async ({ enabled }) => {
      await ports.setStartAtLogin(enabled);
      return settings();
    },
    'app:quit': () => (ports.quit(), null),
    'window:open': (request) => (ports.openWindow(request), null),
    'window:close': (_input, sender) => {
      if (sender.kind === 'window') ports.closeWindow(sender.windowId);
      return null;
    },
    'sandbox:start': async () => {
      if (!sandbox) throw new WorkerError('SANDBOX_NOT_AVAILABLE', 'The local sandbox is not available in this app.');
      await sandbox.start();
      return null;
    },
    'sandbox:leave': async () => {
      await sandbox?.leave();
      // Back where the user came from: the sign-in window when the real worker needs a key.
      if (sandbox && needsLogin(host.snapshot())) ports.openWindow({ view: 'login' });
      return null;
    },
  };

  return {
    async invoke(channel, payload, sender) {
      if (!isChannel(channel)) {
        return failure('IPC_UNKNOWN_CHANNEL', `Unknown IPC channel "${String(channel).slice(0, 64)}".`);
      }
      const spec = contract[channel];
      const parsed = spec.input.safeParse(payload);
      if (!parsed.success) {
        logger?.warn('ipc.invalid_input', `${channel}: ${describeIssues(parsed.error)}`, { code: 'IPC_INVALID_INPUT' });
        return failure('IPC_INVALID_INPUT', `${channel}: ${describeIssues(parsed.error)}`);
      }
      try {
        const handler = handlers[channel] as (input: unknown, sender: IpcSender) => unknown;
        const result = await handler(parsed.data, sender);
        // Parse the output too: only the contract's fields leave the main process.
        const out = spec.output.safeParse(result);
        if (!out.success) {
          logger?.error('ipc.bad_output', `${channel}: ${describeIssues(out.error)}`, { code: 'INTERNAL_ERROR' });
          return failure('INTERNAL_ERROR', `${channel} produced an unexpected result.`);
        }
        logger?.debug('ipc.call', channel, { sender: sender.kind });
        return { ok: true, data: out.data };
      } catch (e) {
        const err = toWorkerError(e);
        logger?.warn('ipc.failed', `${channel}: ${err.message}`, { code: err.code });
        return failure(err.code, err.message);
      }
    },
    watchedBy(windowId) {
      const w = watching.get(windowId);
      return w ? { sectionId: w.sectionId, alias: w.alias } : null;
    },
    windowClosed: unwatch,
  };
}

/** Runs a main-process command (tray item, notification click) through the router. */
export async function runCommand(
  router: Router,
  command: { channel: Channel; input: unknown },
): Promise<IpcResult<unknown>> {
  return router.invoke(command.channel, command.input, { kind: 'main' });
}

export type { Input };
