/**
 * The running worker's local control endpoint (docs/cli.md `interrupt`): a Unix socket `control.sock` in the
 * state root (mode 0600, in the 0700 root), or on Windows a named pipe derived from the state root. Only the
 * lock holder listens, so a stale socket file is removed before listening. One JSON line per request, one JSON
 * line back; each request is checked with zod. What it can do is deliberately small: stop a turn.
 */
import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { toWorkerError, WorkerError } from './errors';
import type { Logger } from './log';

export const ControlRequest = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('interrupt'),
    section: z.string().min(1).max(1000),
    alias: z.string().min(1).max(1000),
  }),
]);
export type ControlRequest = z.output<typeof ControlRequest>;

export const ControlResponse = z.union([
  z.strictObject({ ok: z.literal(true) }),
  z.strictObject({ ok: z.literal(false), code: z.string(), message: z.string() }),
]);
export type ControlResponse = z.output<typeof ControlResponse>;

const MAX_REQUEST_BYTES = 16 * 1024;

/** Where the endpoint of the worker with this state root listens. */
export function controlAddress(stateRoot: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    const tag = createHash('sha256').update(stateRoot.toLowerCase()).digest('hex').slice(0, 16);
    return `\\\\.\\pipe\\blobhub-worker-${tag}`;
  }
  return join(stateRoot, 'control.sock');
}

export interface ControlHandlers {
  interrupt(section: string, alias: string): Promise<void>;
}

export interface ControlServer {
  readonly address: string;
  close(): Promise<void>;
}

/** Starts listening; a failure is logged and returns null (the worker runs on without the endpoint). */
export async function startControlServer(
  stateRoot: string,
  handlers: ControlHandlers,
  logger: Logger,
): Promise<ControlServer | null> {
  const address = controlAddress(stateRoot);
  if (process.platform !== 'win32') rmSync(address, { force: true }); // we hold the lock: any file here is stale
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // a client that went away: nothing to answer
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST_BYTES) {
        socket.end(JSON.stringify({ ok: false, code: 'USAGE', message: 'request too large' }) + '\n');
        return;
      }
      const nl = buffer.indexOf('\n');
      if (nl === -1) return;
      const line = buffer.slice(0, nl);
      buffer = '';
      void answer(line).then((response) => socket.end(JSON.stringify(response) + '\n'));
    });
  });
  async function answer(line: string): Promise<ControlResponse> {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return { ok: false, code: 'USAGE', message: 'not a JSON request' };
    }
    const req = ControlRequest.safeParse(raw);
    if (!req.success) return { ok: false, code: 'USAGE', message: 'unknown or malformed request' };
    try {
      await handlers.interrupt(req.data.section, req.data.alias);
      logger.info('control_interrupt', `turn of ${req.data.alias} stopped from the CLI`, { section: req.data.section });
      return { ok: true };
    } catch (e) {
      const err = toWorkerError(e);
      return { ok: false, code: err.code, message: err.message };
    }
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => resolve());
    });
    if (process.platform !== 'win32') chmodSync(address, 0o600);
  } catch (e) {
    logger.warn('control_listen_failed', `the control endpoint is off: ${toWorkerError(e).message}`, { address });
    return null;
  }
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          if (process.platform !== 'win32') rmSync(address, { force: true });
          resolve();
        });
      }),
  };
}

/** The client side (the CLI): one request, one answer, bounded. */
export function sendControlRequest(
  stateRoot: string,
  request: ControlRequest,
  timeoutMs = 20_000,
): Promise<ControlResponse> {
  const address = controlAddress(stateRoot);
  return new Promise((resolve, reject) => {
    const socket = createConnection(address);
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new WorkerError('API_NETWORK_ERROR', `the worker did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (c: string) => (buffer += c));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
        reject(
          new WorkerError('INVALID_STATE', `no running worker for ${stateRoot} (start it with blobhub-worker start)`),
        );
      } else reject(new WorkerError('API_NETWORK_ERROR', `cannot reach the worker: ${e.message}`));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      let raw: unknown;
      try {
        raw = JSON.parse(buffer.trim());
      } catch {
        raw = null;
      }
      const parsed = ControlResponse.safeParse(raw);
      if (parsed.success) resolve(parsed.data);
      else reject(new WorkerError('INTERNAL_ERROR', 'the worker sent an unreadable answer'));
    });
  });
}
