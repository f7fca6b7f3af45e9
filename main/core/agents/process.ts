/**
 * Agent process supervision shared by both adapters: executable lookup, spawning in an own process group,
 * line framing of stdout/stderr (every byte also goes to thread.log), and a stop that leaves no process behind.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { WorkerError } from '../errors';
import type { ThreadLog } from './thread-log';
import { sleep } from '../api/retry';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * An absolute path must exist and be executable; a bare name is searched on `env.PATH`. Anything else (or a
 * miss) is `AGENT_EXECUTABLE_NOT_FOUND`. Relative paths with a slash are refused: the worker's cwd is not
 * meaningful to a user.
 */
export function resolveExecutable(nameOrPath: string, env: NodeJS.ProcessEnv = process.env): string {
  const notFound = (why: string): WorkerError =>
    new WorkerError('AGENT_EXECUTABLE_NOT_FOUND', `Agent executable ${JSON.stringify(nameOrPath)} ${why}.`, {
      executable: nameOrPath,
    });
  if (!nameOrPath) throw notFound('is empty');
  if (isAbsolute(nameOrPath)) {
    if (isExecutableFile(nameOrPath)) return nameOrPath;
    throw notFound('does not exist or is not executable');
  }
  if (nameOrPath.includes('/')) throw notFound('must be an absolute path or a bare command name');
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, nameOrPath);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw notFound('was not found on PATH');
}

/**
 * Splits a byte stream into lines at `\n`. Works on Buffers so a multi-byte character or a 1 MB line split
 * across chunks is reassembled before decoding. Chunks are collected in a list, not concatenated per chunk,
 * so a huge line costs O(n), not O(n²).
 */
export class LineSplitter {
  private parts: Buffer[] = [];

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      this.parts.push(chunk.subarray(start, nl));
      this.emit();
      start = nl + 1;
    }
    if (start < chunk.length) this.parts.push(chunk.subarray(start));
  }

  /** Emits a trailing line without a newline (at EOF). */
  end(): void {
    if (this.parts.length > 0) this.emit();
  }

  private emit(): void {
    const buf = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    this.parts = [];
    let line = buf.toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    this.onLine(line);
  }
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
}

/** State letter and process group of a pid from /proc (Linux); null when unknown or gone. */
function procStat(pid: number | string): { state: string; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

const HAS_PROC = existsSync('/proc/self/stat');

/**
 * True while any non-zombie process of the group exists. kill(-pgid, 0) alone also counts zombies, and an
 * orphaned grandchild stays a zombie for as long as a non-reaping PID 1 (containers) leaves it there.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!HAS_PROC) return true;
  try {
    return readdirSync('/proc').some((name) => {
      if (!/^\d+$/.test(name)) return false;
      const st = procStat(name);
      return st !== null && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X';
    });
  } catch {
    return true;
  }
}

/** True while the pid exists and is not a zombie. */
export function processLive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const st = HAS_PROC ? procStat(pid) : null;
  return st === null ? !HAS_PROC : st.state !== 'Z' && st.state !== 'X';
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Polls until the group is gone or `ms` passed; true when gone. */
async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

/** How long to wait for stdout/stderr to drain after the process exited (a grandchild may hold them open). */
const DRAIN_MS = 300;

export class AgentProcess {
  readonly pid: number | undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  private lastStderr: string | null = null;
  private stopping = false;
  private exitInfo: ExitInfo | null = null;
  private readonly exited: Promise<ExitInfo>;
  private stdinOpen = true;

  constructor(private readonly options: AgentProcessOptions) {
    const { log } = options;
    this.child = spawn(options.executable, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Own process group: stop() signals the whole tree (tools the agent spawned included).
      detached: true,
      shell: false,
    });
    this.pid = this.child.pid;
    const stdout = new LineSplitter((line) => {
      log.append({ src: 'agent', dir: 'stdout', line });
      options.onStdoutLine(line);
    });
    const stderr = new LineSplitter((line) => {
      log.append({ src: 'agent', dir: 'stderr', line });
      if (line.trim()) this.lastStderr = line;
    });
    this.child.stdout.on('data', (d: Buffer) => stdout.push(d));
    this.child.stderr.on('data', (d: Buffer) => stderr.push(d));
    this.child.stdin.on('error', () => {
      // EPIPE after the agent died; the exit path reports it.
      this.stdinOpen = false;
    });

    this.exited = new Promise<ExitInfo>((resolve) => {
      let spawnError: Error | null = null;
      this.child.on('error', (e) => {
        spawnError = e;
        // A failed spawn never emits 'exit'; report it like one.
        if (this.child.pid === undefined) finish(null, null);
      });
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
      this.child.on('exit', (code, signal) => {
        // Let the pipes drain, but do not wait for a grandchild that inherited them.
        const timer = setTimeout(() => {
          this.child.stdout.destroy();
          this.child.stderr.destroy();
          finish(code, signal);
        }, DRAIN_MS);
        this.child.once('close', () => {
          clearTimeout(timer);
          finish(code, signal);
        });
      });
    });
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
    this.child.stdin.write(line + '\n');
    return true;
  }

  closeStdin(): void {
    if (!this.stdinOpen) return;
    this.stdinOpen = false;
    this.options.log.append({ src: 'worker', event: 'agent_stdin_closed' });
    this.child.stdin.end();
  }

  waitExit(): Promise<ExitInfo> {
    return this.exited;
  }

  /**
   * Close stdin → SIGTERM to the group after `graceMs` → SIGKILL after `killMs` more → resolves when the group
   * is gone (or, if something unkillable lingers, after another `killMs`).
   */
  async stop({ graceMs = 10_000, killMs = 5_000 }: { graceMs?: number; killMs?: number } = {}): Promise<ExitInfo> {
    const pgid = this.pid;
    if (this.exitInfo === null) this.stopping = true;
    this.closeStdin();
    if (pgid === undefined) return this.exited;
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
    if (this.exitInfo === null || groupAlive(pgid)) {
      killGroup(pgid, 'SIGTERM');
      if (!(await waitGroupGone(pgid, killMs))) {
        killGroup(pgid, 'SIGKILL');
        await waitGroupGone(pgid, killMs);
      }
    }
    return this.exited;
  }

  /** Kills whatever is left of the group at once (after an unexpected exit of the main process). */
  killGroupNow(): void {
    if (this.pid !== undefined && groupAlive(this.pid)) killGroup(this.pid, 'SIGKILL');
  }
}
