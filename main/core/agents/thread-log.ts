/**
 * `threads/{alias}/logs/thread.log`: one JSON object per line, appended and never truncated (decisions §7).
 * Agent stdio records are `{ts, src:"agent", dir:"stdin"|"stdout"|"stderr", line}`; the harness appends its own
 * records with `src:"worker"` and whatever fields it needs, so the record type stays open.
 *
 * Writes are synchronous on an open append-mode fd: records keep their exact order, and a crash of the worker
 * right after an agent line cannot lose it.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ThreadLogRecord {
  /** ISO timestamp; filled in by `append` when absent. */
  ts?: string;
  src: 'agent' | 'worker' | (string & {});
  dir?: 'stdin' | 'stdout' | 'stderr';
  line?: string;
  [key: string]: unknown;
}

export class ThreadLog {
  private fd: number | null = null;
  private failed = false;

  constructor(readonly path: string) {}

  append(record: ThreadLogRecord): void {
    if (this.failed) return;
    const { ts, ...rest } = record;
    const text = JSON.stringify({ ts: ts ?? new Date().toISOString(), ...rest }) + '\n';
    try {
      if (this.fd === null) {
        mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
        this.fd = openSync(this.path, 'a', 0o600);
      }
      writeSync(this.fd, text);
    } catch {
      // A full disk or a removed folder must never take an agent (or the worker) down; stop trying.
      this.failed = true;
    }
  }

  close(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
  }
}
