/**
 * The state root and every path under it (protocol §12).
 * Resolution order: `--home DIR` → env `BLOBHUB_WORKER_HOME` → `~/.blobhub-worker`.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdirSync, chmodSync } from 'node:fs';
import { createHash } from 'node:crypto';

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

/** Plain aliases are used as folder names unchanged (the longest name every file system takes is 255 bytes). */
const PLAIN_ALIAS = /^[A-Za-z0-9._-]{1,255}$/;
/** Names Windows reserves for devices (with or without an extension), whatever the case. */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
const SLUG_MAX = 40;

/**
 * The folder name of a thread alias under `threads/` (README "Files"). An alias is server data that any session
 * member chooses, so it must never name a path outside that folder: a plain alias (letters, digits, `.`, `_`,
 * `-`; not `.`/`..`; at most 255 characters; on Windows not a device name and not ending in a dot) is its own
 * folder name; any other alias becomes a readable slug plus `~` and a 12-hex-digit hash of the whole alias
 * (`~` is never part of a plain alias, so the two forms cannot collide). The hash is over the UTF-16 code
 * units, so every distinct alias (lone surrogates included) gets its own stable name, on every start.
 */
export function aliasFolderName(alias: string, platform: NodeJS.Platform = process.platform): string {
  const plain =
    PLAIN_ALIAS.test(alias) &&
    alias !== '.' &&
    alias !== '..' &&
    (platform !== 'win32' || (!WINDOWS_RESERVED.test(alias) && !alias.endsWith('.')));
  if (plain) return alias;
  const hash = createHash('sha256').update(Buffer.from(alias, 'utf16le')).digest('hex').slice(0, 12);
  const slug = alias
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, SLUG_MAX)
    .replace(/[.-]+$/, '');
  return `${slug || 'thread'}~${hash}`;
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
  /** Append-only outbox journal (protocol §8.3 allows "a sibling file"). */
  threadOutbox(alias: string): string {
    return join(this.threadDir(alias), 'outbox.jsonl');
  }
}
