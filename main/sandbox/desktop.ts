/**
 * The desktop's sandbox switch: one `WorkerHost` (`switch.host`) that the router, tray and windows use, which
 * is the real host normally and the sandbox's host while a sandbox runs. Snapshots of the sandbox carry
 * `sandbox: true` (the dashboard's "Sandbox" badge and "Leave sandbox"). The real host is never touched by the
 * sandbox: sign-in and sign-out always go to the real host, and signing in leaves the sandbox first.
 */
import type { WorkerHost, LoginRequest, LoginResult, HandoffPatch } from '../core/host';
import type { PromptAnswer } from '../core/agents/types';
import type { Snapshot } from '../core/snapshot';
import { toWorkerError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { startSandbox as defaultStartSandbox, type Sandbox, type SandboxOptions } from './index';

export interface SandboxSwitchOptions {
  real: WorkerHost;
  /** How the sandbox is started (state root `<real state root>/sandbox` in the app, agent simulator folder…). */
  sandbox: Omit<SandboxOptions, 'logger' | 'autopilot'>;
  logger?: Logger;
  /** Test seam. */
  startSandbox?: (options: SandboxOptions) => Promise<Sandbox>;
}

export interface SandboxSwitch {
  /** Give this to the router, the tray and the windows. */
  readonly host: WorkerHost;
  readonly active: boolean;
  /** Starts the sandbox (if not running) and switches to it. */
  start(): Promise<void>;
  /** Stops the sandbox (removing its state) and switches back to the real host. No-op when none runs. */
  leave(): Promise<void>;
}

export function createSandboxSwitch(options: SandboxSwitchOptions): SandboxSwitch {
  const { real } = options;
  const logger = options.logger ?? silentLogger;
  const start = options.startSandbox ?? defaultStartSandbox;
  let sandbox: Sandbox | null = null;
  let unsubscribeSandbox: (() => void) | null = null;
  /** start/leave run one at a time. */
  let queue: Promise<unknown> = Promise.resolve();
  const listeners = new Set<(s: Snapshot) => void>();

  const current = (): WorkerHost => sandbox?.host ?? real;
  const snapshot = (): Snapshot => (sandbox ? { ...sandbox.host.snapshot(), sandbox: true } : real.snapshot());
  const publish = (): void => {
    const snap = snapshot();
    for (const l of listeners) {
      try {
        l(snap);
      } catch {
        // A listener's trouble is its own.
      }
    }
  };
  real.onChange(() => {
    if (!sandbox) publish();
  });

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const leave = (): Promise<void> =>
    serial(async () => {
      const running = sandbox;
      if (!running) return;
      unsubscribeSandbox?.();
      unsubscribeSandbox = null;
      sandbox = null;
      publish();
      await running.stop().catch((e: unknown) => logger.warn('sandbox.leave_failed', toWorkerError(e).message));
      logger.info('sandbox.left', 'left the sandbox; back to the real worker');
    });

  const host: WorkerHost = {
    get stateRoot() {
      return current().stateRoot;
    },
    snapshot,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start: () => current().start(),
    stop: () => current().stop(),
    reloadConfig: () => current().reloadConfig(),
    async login(request: LoginRequest): Promise<LoginResult> {
      await leave();
      return real.login(request);
    },
    async signOut() {
      // In the sandbox, "Sign out" means leaving it: the real credentials stay untouched.
      if (sandbox) return leave();
      return real.signOut();
    },
    resetThread: (sectionId: string, alias: string) => current().resetThread(sectionId, alias),
    answerPrompt: (promptId: string, answer: PromptAnswer) => current().answerPrompt(promptId, answer),
    interruptTurn: (sectionId: string, alias: string) => current().interruptTurn(sectionId, alias),
    revokeGrant: (sectionId: string, alias: string, rule: string) => current().revokeGrant(sectionId, alias, rule),
    detachSection: (sectionId: string) => current().detachSection(sectionId),
    reattachSection: (sectionId: string) => current().reattachSection(sectionId),
    updateHandoff: (sectionId: string, alias: string, patch: HandoffPatch) =>
      current().updateHandoff(sectionId, alias, patch),
    threadTranscript: (sectionId, alias, opts) => current().threadTranscript(sectionId, alias, opts),
    // On the host running now; a view re-subscribes when the app switches (the snapshot push re-renders it).
    subscribeThread: (sectionId, alias, listener) => current().subscribeThread(sectionId, alias, listener),
  };

  return {
    host,
    get active() {
      return sandbox !== null;
    },
    start: () =>
      serial(async () => {
        if (sandbox) return;
        const started = await start({ ...options.sandbox, logger: logger.child({ component: 'sandbox' }) });
        sandbox = started;
        unsubscribeSandbox = started.host.onChange(() => {
          if (sandbox === started) publish();
        });
        logger.info('sandbox.started', `sandbox running on ${started.apiUrl}, state in ${started.stateRoot}`);
        publish();
      }),
    leave,
  };
}
