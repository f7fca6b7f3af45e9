/**
 * The state root and every path under it (worker.md §4, session-agent-harness.md §3).
 * Resolution order: `--home DIR` → env `BLOBHUB_WORKER_HOME` → `~/.blobhub-worker`.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdirSync, chmodSync } from 'node:fs';

export function resolveStateRoot(home?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (home) return resolve(home);
  if (env.BLOBHUB_WORKER_HOME) return resolve(env.BLOBHUB_WORKER_HOME);
  return join(homedir(), '.blobhub-worker');
}

/** Creates the state root with mode 0700 (tightening an existing folder). */
export function ensureStateRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);
}

/** A thread alias is server data: keep safe aliases readable, encode anything else so it stays one folder. */
export function aliasFolderName(alias: string): string {
  if (/^[A-Za-z0-9._-]+$/.test(alias) && alias !== '.' && alias !== '..') return alias;
  return encodeURIComponent(alias).replace(/\./g, '%2E');
}

export const jobIdFor = (sessionId: string): string => `session_agent_harness-${sessionId}`;

export class StatePaths {
  constructor(readonly root: string) {}

  get credentials(): string {
    return join(this.root, 'credentials.yaml');
  }
  get identity(): string {
    return join(this.root, 'identity.yaml');
  }
  get instance(): string {
    return join(this.root, 'instance.yaml');
  }
  get config(): string {
    return join(this.root, 'config.yaml');
  }
  get logsDir(): string {
    return join(this.root, 'logs');
  }
  get jobsDir(): string {
    return join(this.root, 'jobs');
  }

  job(sessionId: string): JobPaths {
    return new JobPaths(join(this.jobsDir, aliasFolderName(jobIdFor(sessionId))));
  }
}

export class JobPaths {
  constructor(readonly dir: string) {}

  get sectionYaml(): string {
    return join(this.dir, 'section.yaml');
  }
  get sectionLog(): string {
    return join(this.dir, 'logs', 'section.log');
  }
  get threadsDir(): string {
    return join(this.dir, 'threads');
  }

  threadDir(alias: string): string {
    return join(this.threadsDir, aliasFolderName(alias));
  }
  threadYaml(alias: string): string {
    return join(this.threadDir(alias), 'thread.yaml');
  }
  threadLog(alias: string): string {
    return join(this.threadDir(alias), 'logs', 'thread.log');
  }
  /** Append-only outbox journal (decisions §8.3 allows "a sibling file"). */
  threadOutbox(alias: string): string {
    return join(this.threadDir(alias), 'outbox.jsonl');
  }
}
