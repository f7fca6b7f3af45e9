/**
 * Agent process supervision shared by both adapters (docs/agents.md, "Supervision"): executable lookup, spawning
 * through execa (argument array, no shell, own process group on POSIX), line framing of stdout/stderr (every
 * byte also goes to thread.log, over-long lines cut), and a stop that leaves no process of the agent's tree
 * behind — also when the worker itself exits without stopping its agents.
 */
import { execa, type Options, type ResultPromise } from 'execa';
import type { Readable, Writable } from 'node:stream';
import { sleep } from '../api/retry';
import { LineSplitter } from './line-splitter';
import { currentPlatform, type AgentTree, type ProcessPlatform } from './platform';
import type { ThreadLog } from './thread-log';

export { LineSplitter, DEFAULT_MAX_LINE_BYTES } from './line-splitter';
export { groupAlive, processLive } from './process-tree';

/**
 * An absolute path must exist and be executable; a bare name is searched on PATH (with PATHEXT on Windows).
 * Anything else (or a miss) is `AGENT_EXECUTABLE_NOT_FOUND`.
 */
export function resolveExecutable(
  nameOrPath: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: ProcessPlatform = currentPlatform(),
): string {
  return platform.resolveExecutable(nameOrPath, env);
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  lastStderrLine: string | null;
  /** True when the exit came from `stop()`. */
  expected: boolean;
}

export interface AgentProcessOptions {
  executable: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  log: ThreadLog;
  onStdoutLine: (line: string) => void;
  onExit: (info: ExitInfo) => void;
  /** Longest stdout/stderr line passed on (default 16 MiB); a longer one is cut and logged. */
  maxLineBytes?: number;
  platform?: ProcessPlatform;
}

/** How long to wait for stdout/stderr to drain after the process exited (a grandchild may hold them open). */
const DRAIN_MS = 300;
/** How often the descendants of a running agent are remembered (so its orphans can be found after a crash). */
const TREE_REFRESH_MS = 1_000;
/**
 * Stdout lines also trigger a refresh (tools start between lines), at most this often: one refresh costs a few
 * /proc reads per process of the tree (bench/agent-tree.ts), too much for every line of a chatty agent.
 */
const LINE_REFRESH_MS = 500;

/** Every agent process of this worker that may still have a tree, for the exit hook. */
const live = new Set<AgentProcess>();
let exitHookInstalled = false;

/**
 * Last resort when the worker exits without stopping its agents (a forced quit, a fatal error): the agents run
 * in their own process groups, so nothing else would end them. 'exit' handlers must be synchronous, and
 * signalling is.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.killTreeNow();
  });
}

/** Polls until the tree is gone or `ms` passed; true when gone. */
async function waitTreeGone(tree: AgentTree, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (tree.alive()) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

export class AgentProcess {
  readonly pid: number | undefined;
  private readonly child: ResultPromise<Options>;
  private readonly tree: AgentTree | null;
  private readonly refreshTimer: NodeJS.Timeout | null = null;
  private lastRefresh = 0;
  private refreshPending: NodeJS.Timeout | null = null;
  private lastStderr: string | null = null;
  private stopping = false;
  private exitInfo: ExitInfo | null = null;
  private readonly exited: Promise<ExitInfo>;
  private stdinOpen = true;

  constructor(private readonly options: AgentProcessOptions) {
    const { log } = options;
    const platform = options.platform ?? currentPlatform();
    this.child = execa(options.executable, options.args, {
      cwd: options.cwd,
      // Exactly this environment (protocol §7): not merged into the worker's own a second time.
      env: options.env ?? process.env,
      extendEnv: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      // Lines are framed here; execa must not also collect the output in memory.
      buffer: false,
      reject: false,
      shell: false,
      windowsHide: true,
      // Own process group on POSIX: the tree is signalled as a whole. The exit hook above replaces execa's
      // `cleanup`, which does not apply to detached processes.
      detached: platform.detached,
      cleanup: false,
    });
    this.pid = this.child.pid;
    this.tree = this.pid === undefined ? null : platform.tree(this.pid);
    if (this.tree) {
      live.add(this);
      installExitHook();
      this.refreshTimer = setInterval(() => this.refreshNow(), TREE_REFRESH_MS);
      this.refreshTimer.unref();
    }
    const overlong = (dir: 'stdout' | 'stderr') => (o: { bytes: number; head: string; limit: number }) =>
      log.append({ src: 'worker', event: 'agent_line_too_long', dir, bytes: o.bytes, limit: o.limit, head: o.head });
    const lineOptions = { maxLineBytes: options.maxLineBytes };
    const stdout = new LineSplitter(
      (line) => {
        // Tools start between lines: remember them soon, while parent links still lead to them.
        this.refreshSoon();
        log.append({ src: 'agent', dir: 'stdout', line });
        options.onStdoutLine(line);
      },
      { ...lineOptions, onOverlong: overlong('stdout') },
    );
    const stderr = new LineSplitter(
      (line) => {
        log.append({ src: 'agent', dir: 'stderr', line });
        if (line.trim()) this.lastStderr = line;
      },
      { ...lineOptions, onOverlong: overlong('stderr') },
    );
    const out = this.child.stdout as Readable;
    const err = this.child.stderr as Readable;
    out.on('data', (d: Buffer) => stdout.push(d));
    err.on('data', (d: Buffer) => stderr.push(d));
    (this.child.stdin as Writable).on('error', () => {
      // EPIPE after the agent died; the exit path reports it.
      this.stdinOpen = false;
    });

    this.exited = new Promise<ExitInfo>((resolve) => {
      let spawnError: Error | null = null;
      let done = false;
      const finish = (code: number | null, signal: string | null): void => {
        if (done) return;
        done = true;
        stdout.end();
        stderr.end();
        if (spawnError && !this.lastStderr) this.lastStderr = spawnError.message;
        const info: ExitInfo = { code, signal, lastStderrLine: this.lastStderr, expected: this.stopping };
        this.exitInfo = info;
        this.stdinOpen = false;
        log.append({ src: 'worker', event: 'agent_exit', code, signal, expected: info.expected });
        resolve(info);
        options.onExit(info);
      };
      this.child.on('error', (e) => {
        spawnError = e;
        // A failed spawn never emits 'exit'; report it like one.
        if (this.child.pid === undefined) finish(null, null);
      });
      this.child.on('exit', (code, signal) => {
        // Let the pipes drain, but do not wait for a grandchild that inherited them.
        const timer = setTimeout(() => {
          out.destroy();
          err.destroy();
          finish(code, signal);
        }, DRAIN_MS);
        this.child.once('close', () => {
          clearTimeout(timer);
          finish(code, signal);
        });
      });
    });
    // execa's own result: every outcome is already reported through the events above (reject: false; the
    // catch covers a stream destroyed after the drain wait).
    this.child.then(
      () => undefined,
      () => undefined,
    );
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get lastStderrLine(): string | null {
    return this.lastStderr;
  }

  /** Writes one line (a JSON value is serialized) to stdin and to thread.log. False when stdin is closed. */
  writeLine(value: unknown): boolean {
    const line = typeof value === 'string' ? value : JSON.stringify(value);
    if (!this.stdinOpen || this.exitInfo) return false;
    this.options.log.append({ src: 'agent', dir: 'stdin', line });
    (this.child.stdin as Writable).write(line + '\n');
    return true;
  }

  closeStdin(): void {
    if (!this.stdinOpen) return;
    this.stdinOpen = false;
    this.options.log.append({ src: 'worker', event: 'agent_stdin_closed' });
    (this.child.stdin as Writable).end();
  }

  waitExit(): Promise<ExitInfo> {
    return this.exited;
  }

  /**
   * Close stdin → the polite signal to the whole tree after `graceMs` (SIGTERM; `taskkill /T` on Windows) → the
   * kill after `killMs` more (SIGKILL; `taskkill /T /F`) → resolves when the tree is gone (or, if something
   * unkillable lingers, after another `killMs`).
   */
  async stop({ graceMs = 10_000, killMs = 5_000 }: { graceMs?: number; killMs?: number } = {}): Promise<ExitInfo> {
    const tree = this.tree;
    if (this.exitInfo === null) this.stopping = true;
    this.closeStdin();
    if (tree === null) return this.exited;
    if (this.exitInfo === null) {
      // The grace timer is cleared once the process exits: left running it kept the worker process alive
      // for the full grace period after a clean stop.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.exited,
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    if (this.exitInfo === null || tree.alive()) {
      tree.signal(false);
      if (!(await waitTreeGone(tree, killMs))) {
        tree.signal(true);
        await waitTreeGone(tree, killMs);
      }
    }
    const info = await this.exited;
    this.release();
    return info;
  }

  /** Kills whatever is left of the tree at once (after an unexpected exit of the agent, or at worker exit). */
  killTreeNow(): void {
    if (this.tree && this.tree.alive()) this.tree.signal(true);
    if (this.exitInfo !== null) this.release();
  }

  /** The descendants remembered so far (outside the group too), for diagnostics and tests. */
  knownDescendants(): number[] {
    return this.tree?.members() ?? [];
  }

  private refreshNow(): void {
    this.lastRefresh = Date.now();
    this.tree?.refresh();
  }

  /** A refresh now, or at the end of the current LINE_REFRESH_MS window (so the last line is never skipped). */
  private refreshSoon(): void {
    const wait = this.lastRefresh + LINE_REFRESH_MS - Date.now();
    if (wait <= 0) return this.refreshNow();
    if (this.refreshPending || this.exitInfo !== null) return;
    this.refreshPending = setTimeout(() => {
      this.refreshPending = null;
      if (this.exitInfo === null) this.refreshNow();
    }, wait);
    this.refreshPending.unref();
  }

  /** Done with this tree: what could be signalled was (an unkillable process would not yield to the exit hook either). */
  private release(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.refreshPending) clearTimeout(this.refreshPending);
    this.refreshPending = null;
    live.delete(this);
  }
}
