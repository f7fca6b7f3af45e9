/**
 * Reading and writing the worker's YAML files. Writes are atomic (temp file in the same folder, final mode,
 * fsync, rename, fsync of the folder) so a crash never leaves a half-written file. Reads validate with zod
 * and turn any problem into a named `WorkerError` that names the file and the offending path.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import type { z } from 'zod';
import { WorkerError, type ErrorCode } from '../errors';

export interface WriteOptions {
  /** Final file mode; 0600 unless said otherwise (nothing the worker writes is for other users). */
  mode?: number;
  /** Create only if absent (`O_EXCL` semantics via link); rejects with EEXIST otherwise. */
  exclusive?: boolean;
}

export async function writeFileAtomic(path: string, data: string, options: WriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(
    tmp,
    fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY,
    options.mode ?? 0o600,
  );
  try {
    await handle.writeFile(data, 'utf8');
    await handle.chmod(options.mode ?? 0o600);
    await handle.sync();
  } catch (e) {
    // A full disk must not also keep the half-written temp file.
    await handle.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await handle.close();
  try {
    if (options.exclusive) {
      // link() fails with EEXIST if the target exists: an atomic create of a fully written file.
      await fs.link(tmp, path);
      await fs.unlink(tmp);
    } else {
      await fs.rename(tmp, path);
    }
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  try {
    const h = await fs.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Some filesystems refuse fsync on folders; the rename is still atomic.
  }
}

export function toYaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0 });
}

export async function writeYamlAtomic(path: string, value: unknown, options: WriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, toYaml(value), options);
}

/** Formats a zod issue path the way protocol §2 asks: `sections[1].session.org_id`. */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`)
    .join('; ');
}

export interface ReadOptions {
  /** Code raised when the file exists but is not valid YAML or fails the schema. */
  invalidCode?: ErrorCode;
}

/** Parses YAML text; the error names the file and line, never dumps the content. */
export function parseYamlText(text: string, label: string, code: ErrorCode = 'STATE_FILE_INVALID'): unknown {
  try {
    const doc = YAML.parseDocument(text, { prettyErrors: false, uniqueKeys: false });
    if (doc.errors.length > 0) {
      const first = doc.errors[0];
      const line = first.linePos?.[0]?.line;
      throw new WorkerError(code, `${label} is not valid YAML${line ? ` (line ${line})` : ''}: ${first.code}`);
    }
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    if (e instanceof WorkerError) throw e;
    throw new WorkerError(code, `${label} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * Reads and validates a YAML file. Returns `undefined` when the file does not exist; throws a WorkerError
 * (default `STATE_FILE_INVALID`) for unreadable, unparsable or schema-violating content.
 */
export async function readYamlFile<S extends z.ZodType>(
  path: string,
  schema: S,
  options: ReadOptions = {},
): Promise<z.output<S> | undefined> {
  const code = options.invalidCode ?? 'STATE_FILE_INVALID';
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return undefined;
    throw new WorkerError(code, `${path} cannot be read (${err.code ?? 'error'})`);
  }
  const raw = parseYamlText(text, path, code);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new WorkerError(code, `${path} is invalid: ${describeZodError(parsed.error)}`);
  }
  return parsed.data;
}
