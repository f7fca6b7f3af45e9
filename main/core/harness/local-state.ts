/**
 * The harness's two local files (protocol §12): `thread.yaml` per thread and `section.yaml` per section.
 * Each store keeps the current value in memory and writes it atomically; writes are chained so they land in
 * call order, and `update` resolves only once the file is on disk — callers await it before any request
 * another client can observe.
 */
import { promises as fs } from 'node:fs';
import { WorkerError } from '../errors';
import { readYamlFile, writeYamlAtomic } from '../state/yaml-file';
import { SectionFile, ThreadFile, type SessionTuple } from '../state/schemas';
import { SerialQueue } from '../util/serial-queue';

/**
 * Writes one local state file. The default is `writeYamlAtomic`; the harness is given another one only as a
 * test seam (an injected I/O failure, a held write).
 */
export type StateFileWriter = (path: string, value: unknown) => Promise<void>;

abstract class YamlStore<T> {
  protected writes = new SerialQueue();
  constructor(
    readonly path: string,
    protected current: T,
    private readonly write: StateFileWriter = writeYamlAtomic,
  ) {}

  get value(): T {
    return this.current;
  }

  /**
   * A failed write rejects with STATE_IO_ERROR naming the file (ENOSPC, EACCES, EIO, ...). The in-memory value
   * keeps the new content, so what the snapshot shows is what the worker meant to record.
   */
  protected async persist(value: T): Promise<void> {
    await this.writes.run(async () => {
      try {
        await this.write(this.path, value);
      } catch (e) {
        if (e instanceof WorkerError) throw e;
        const why = e instanceof Error ? e.message : String(e);
        throw new WorkerError('STATE_IO_ERROR', `Could not write ${this.path}: ${why}`);
      }
    });
  }
}

/**
 * A local file that cannot be used is never overwritten in place: it is renamed to
 * `<name>.invalid-<UTC stamp>` next to itself (its bytes kept for the user), and the caller logs where it went.
 * Returns the new path, or null when the rename itself failed (the caller says so).
 */
export async function moveAside(path: string, now: Date = new Date()): Promise<string | null> {
  const target = `${path}.invalid-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
  try {
    await fs.rename(path, target);
    return target;
  } catch {
    return null;
  }
}

export function blankThreadFile(alias: string, now: string): ThreadFile {
  return {
    alias,
    workspace: { work_folder: null, agent_type: null },
    agent: {
      state: 'pending',
      agent_session_id: null,
      resolved: { executable: null, model: null, effort: null, permissions: null },
      error: { code: null, message: null, at: null },
      granted: [],
    },
    cursors: { inbound: null, outbound: { last_emission_id: null, last_item_id: null } },
    open_prompt: null,
    updated_at: now,
  };
}

export class ThreadStore extends YamlStore<ThreadFile> {
  /** True when the file existed on disk when opened (recovery needs to tell "missing" apart). */
  readonly existed: boolean;

  private constructor(
    path: string,
    value: ThreadFile,
    existed: boolean,
    private readonly now: () => string,
    write?: StateFileWriter,
  ) {
    super(path, value, write);
    this.existed = existed;
  }

  /**
   * A corrupt thread.yaml is moved aside (`movedTo`, kept for the user; null if the rename failed), reported by
   * the caller and treated as missing (nothing to resume).
   */
  static async open(
    path: string,
    alias: string,
    now: () => string,
    write?: StateFileWriter,
  ): Promise<{ store: ThreadStore; error?: Error; movedTo?: string | null }> {
    try {
      const file = await readYamlFile(path, ThreadFile);
      if (file) return { store: new ThreadStore(path, file, true, now, write) };
    } catch (e) {
      const movedTo = await moveAside(path);
      const store = new ThreadStore(path, blankThreadFile(alias, now()), false, now, write);
      return { store, error: e as Error, movedTo };
    }
    return { store: new ThreadStore(path, blankThreadFile(alias, now()), false, now, write) };
  }

  async update(mutate: (file: ThreadFile) => void): Promise<ThreadFile> {
    const next = structuredClone(this.current);
    mutate(next);
    next.updated_at = this.now();
    this.current = next;
    await this.persist(next);
    return next;
  }
}

export interface SectionIdentity {
  name: string | null;
  session: SessionTuple;
}

export class SectionStore extends YamlStore<SectionFile> {
  /** A corrupt section.yaml is moved aside and reported through `onInvalid`; a fresh one is written on attach. */
  static async open(
    path: string,
    id: SectionIdentity,
    onInvalid?: (message: string, movedTo: string | null) => void,
    write?: StateFileWriter,
  ): Promise<SectionStore> {
    let file: SectionFile | undefined;
    try {
      file = await readYamlFile(path, SectionFile);
    } catch (e) {
      file = undefined;
      const movedTo = await moveAside(path);
      onInvalid?.((e as Error).message, movedTo);
    }
    return new SectionStore(
      path,
      {
        name: id.name,
        job_type: 'session_agent_harness',
        session: id.session,
        attachment: file?.attachment ?? { status: 'detached', attached_at: null, error: { code: null, message: null } },
        events: file?.events ?? { last_processed_at: null },
      },
      write,
    );
  }

  async setAttachment(
    status: SectionFile['attachment']['status'],
    at: string | null,
    error?: { code: string; message: string },
  ): Promise<void> {
    this.current = {
      ...this.current,
      attachment: { status, attached_at: at, error: { code: error?.code ?? null, message: error?.message ?? null } },
    };
    await this.persist(this.current);
  }

  async setLastProcessed(at: string): Promise<void> {
    if (this.current.events.last_processed_at && this.current.events.last_processed_at >= at) return;
    this.current = { ...this.current, events: { last_processed_at: at } };
    await this.persist(this.current);
  }
}
