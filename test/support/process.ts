/**
 * Shared test support: temporary state roots and running the real, built CLI (`dist/cli.js`) as a child
 * process. Every child is bounded by a timeout so a hung process fails the test instead of hanging CI.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/cli.js');
export const FAKES = join(ROOT, 'test/fakes');

/** A fresh temp folder; removed by the returned cleanup. */
export async function tempDir(prefix = 'bhw-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  home: string;
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs `blobhub-worker <args> --home <home>` to completion. */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI ${args.join(' ')} timed out; stderr: ${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
    else child.stdin!.end();
  });
}

/** Spawns the CLI without waiting (for `start`); the caller stops it. */
export function spawnCli(args: string[], options: CliOptions): ChildProcess {
  return spawn(process.execPath, [CLI, ...args, '--home', options.home], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, BLOBHUB_WORKER_HOME: '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Waits until `predicate` is true, polling every `intervalMs`, failing after `timeoutMs`. */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Resolves once the child's stdout and stderr have ended (at most `graceMs` after it exited: a grandchild may
 * hold them open). Node can emit 'exit' before the last output was read — a line printed just before exiting
 * (e.g. `"event":"stopped"`) may still be in the pipe — so callers that read the output wait for this.
 */
export async function outputEnded(child: ChildProcess, graceMs = 5_000): Promise<void> {
  const ended = (stream: Readable | null): Promise<void> => {
    if (!stream || stream.closed || stream.destroyed) return Promise.resolve();
    return new Promise((r) => stream.once('close', () => r()));
  };
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([ended(child.stdout), ended(child.stderr)]),
    new Promise((r) => {
      timer = setTimeout(r, graceMs);
    }),
  ]);
  clearTimeout(timer);
}

/** Resolves when the child has exited and its output was read to the end, or kills it after `timeoutMs`. */
export async function waitExit(
  child: ChildProcess,
  timeoutMs = 20_000,
): Promise<{ status: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  await outputEnded(child);
  return { status: child.exitCode, signal: child.signalCode };
}
