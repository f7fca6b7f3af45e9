/**
 * The local BlobHub emulator (protocol §3, §4, §13; docs/emulator.md): REST and the realtime WebSocket on one
 * 127.0.0.1 port, plus the control API. Product code — the desktop's sandbox embeds it — so it never imports
 * electron and enforces every server rule the client relies on.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { silentLogger, type Logger } from '../core/log';
import {
  DEFAULT_SHAPES,
  MUTATING_COMMANDS,
  peekCommand,
  runCommand,
  usersMeBody,
  type ShapeVariants,
} from './commands';
import { Counters, callControl, createControl, type EmulatorControl } from './control';
import { EmulatorError, type EmulatorErrorCode } from './errors';
import { FaultInjector, type FaultDecision } from './faults';
import { RealtimeHub, handshakeKey, rejectUpgrade } from './realtime';
import { Store, type EmulatorUser, type SessionEvent } from './store';

export type { EmulatorControl, RemoteControl, CountersSnapshot, AuthMode } from './control';
export { connectControl } from './control';
export type { FaultRule, FaultKind } from './faults';
export type { ShapeVariants } from './commands';
export type { Envelope, ThreadItem, SessionEvent, SessionRef, SessionTuple, ContentBlock, ObjectValue } from './store';
export { EmulatorError } from './errors';

export interface EmulatorOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Always 127.0.0.1: the emulator never listens beyond the loopback interface. */
  host?: '127.0.0.1';
  /** Server page size of `list_session_thread_items` (default 50). */
  pageSize?: number;
  /** Largest accepted serialized thread item in bytes (default 1 MiB); above it `thread_item_too_large` 413. */
  itemSizeCap?: number;
  /** Every N consecutive thread items share one `created_at` (default 1: strictly increasing); `setItemStampRepeat`. */
  itemStampRepeat?: number;
  /** Seed of the fault-injection RNG (default 1). */
  seed?: number;
  logger?: Logger;
}

export interface Emulator {
  readonly port: number;
  /** `http://127.0.0.1:PORT/v1` */
  readonly apiUrl: string;
  /** `ws://127.0.0.1:PORT/v1` */
  readonly realtimeUrl: string;
  /** `http://127.0.0.1:PORT/__control` */
  readonly controlUrl: string;
  readonly control: EmulatorControl;
  /** In-process only: called synchronously with every session event (for the sandbox's scripted actors). */
  onEvent(listener: (event: SessionEvent) => void): () => void;
  /** Closes the listener and every socket (HTTP keep-alive, WebSocket, requests mid-latency). */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
/** Request bodies beyond this are refused before parsing (well above any item cap a test sets). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const DATA_ROUTE = /^\/v1\/revisions\/([^/]+)\/data(\/query)?\/?$/;
const CONTROL_PREFIX = '/__control/';

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

function errorReply(e: EmulatorError, headers?: Record<string, string>): Reply {
  return { status: e.status, body: e.toBody(), headers };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...reply.headers,
  });
  res.end(body);
}

/** The wire code of an injected `status` / `client_error` answer to a REST request. */
function injectedCode(status: number): EmulatorErrorCode {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status < 500) return 'invalid_request';
  return status === 503 ? 'service_unavailable' : 'internal_error';
}

/** A data command body's `alias` (fault rules may be scoped to one). */
function peekAlias(body: unknown): string | undefined {
  const alias = body && typeof body === 'object' ? (body as Record<string, unknown>).alias : undefined;
  return typeof alias === 'string' ? alias : undefined;
}

/** A raw (possibly not JSON) answer, for the `malformed` fault. */
function sendRaw(res: ServerResponse, status: number, body: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads the body; `undefined` for an empty one, EmulatorError for bad JSON or an oversized body. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new EmulatorError(413, 'payload_too_large', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new EmulatorError(400, 'invalid_json', 'The request body is not valid JSON.');
  }
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const logger = options.logger ?? silentLogger;
  const store = new Store({
    pageSize: options.pageSize ?? 50,
    itemSizeCap: options.itemSizeCap ?? 1024 * 1024,
    itemStampRepeat: options.itemStampRepeat ?? 1,
  });
  const faults = new FaultInjector(options.seed ?? 1);
  const counters = new Counters();
  const shapes: ShapeVariants = { ...DEFAULT_SHAPES };
  const hub = new RealtimeHub(store, logger);
  const control = createControl({ store, faults, hub, counters, shapes });

  const sockets = new Set<Socket>();
  const sleepers = new Set<() => void>();
  let closed = false;

  /** Waits `ms`; resolves false instead if the emulator closes meanwhile. */
  const delay = (ms: number): Promise<boolean> =>
    ms <= 0
      ? Promise.resolve(!closed)
      : new Promise((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            sleepers.delete(wake);
            resolve(false);
          };
          const timer = setTimeout(() => {
            sleepers.delete(wake);
            resolve(!closed);
          }, ms);
          sleepers.add(wake);
        });

  /** 401 unknown or missing key; the per-user flip forces 401/403. */
  const authenticate = (key: string | undefined): EmulatorUser => {
    const user = store.userByKey(key);
    if (!user || user.authOverride === 401) throw new EmulatorError(401, 'unauthorized', 'Invalid or missing API key.');
    if (user.authOverride === 403)
      throw new EmulatorError(403, 'forbidden', 'This API key is not allowed to access the API.');
    counters.user(user.user_id);
    return user;
  };

  const headerKey = (req: IncomingMessage): string | undefined => {
    const key = req.headers['x-api-key'];
    return typeof key === 'string' && key.length > 0 ? key : undefined;
  };

  /** Runs `work` under the fault decision for `command`: latency first, then an injected answer or drop, else the real reply. */
  const underFaults = async (
    req: IncomingMessage,
    res: ServerResponse,
    command: string,
    work: () => Reply,
    alias?: string,
  ): Promise<void> => {
    const decision: FaultDecision = faults.decide(command, alias);
    if (!(await delay(decision.latencyMs))) return;
    const action = decision.action;
    if (action?.kind === 'drop_before') {
      req.socket.destroy();
      return;
    }
    if (action?.kind === 'status') {
      send(
        res,
        errorReply(
          new EmulatorError(action.status, injectedCode(action.status), `Injected fault: HTTP ${action.status}.`),
        ),
      );
      return;
    }
    if (action?.kind === 'rate_limit') {
      send(
        res,
        errorReply(new EmulatorError(429, 'rate_limited', 'Too many requests.'), {
          'retry-after': String(action.retryAfterSec),
        }),
      );
      return;
    }
    if (action?.kind === 'malformed' && !action.applied) {
      sendRaw(res, 200, action.body);
      return;
    }
    let reply: Reply;
    try {
      reply = work();
    } catch (e) {
      reply = errorReply(
        e instanceof EmulatorError ? e : new EmulatorError(500, 'internal_error', 'Unexpected failure.'),
      );
      if (!(e instanceof EmulatorError))
        logger.error('emulator.internal', 'command failed unexpectedly', { error: String(e) });
    }
    logger.debug('emulator.request', `${command} → ${reply.status}`, {
      command,
      status: reply.status,
      dropped: action?.kind === 'drop_after',
    });
    // drop_after: the command took effect, the client never hears so.
    if (action?.kind === 'drop_after') req.socket.destroy();
    else if (action?.kind === 'malformed') sendRaw(res, 200, action.body);
    else send(res, reply);
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (path === '/v1/users/me' || path === '/v1/users/me/') {
      counters.route('GET /v1/users/me');
      counters.command('users/me', false);
      if (req.method !== 'GET') return send(res, errorReply(new EmulatorError(405, 'method_not_allowed', 'Use GET.')));
      return underFaults(req, res, 'users/me', () => ({
        status: 200,
        body: usersMeBody(authenticate(headerKey(req)), shapes.usersMe),
      }));
    }
    const match = DATA_ROUTE.exec(path);
    if (!match) {
      counters.route(`${req.method} ${path}`);
      return send(res, errorReply(new EmulatorError(404, 'not_found', `No route ${req.method} ${path}.`)));
    }
    counters.route(`POST /v1/revisions/{rev}/data${match[2] ? '/query' : ''}`);
    if (req.method !== 'POST') return send(res, errorReply(new EmulatorError(405, 'method_not_allowed', 'Use POST.')));
    let body: unknown;
    let bodyError: EmulatorError | undefined;
    try {
      body = await readJson(req);
    } catch (e) {
      bodyError = e instanceof EmulatorError ? e : new EmulatorError(400, 'invalid_json', 'Unreadable request body.');
    }
    const command = peekCommand(body) ?? '(none)';
    const mutating = MUTATING_COMMANDS.has(command);
    counters.command(command, mutating);
    const revisionId = decodeURIComponent(match[1]);
    return underFaults(
      req,
      res,
      command,
      () => {
        const user = authenticate(headerKey(req));
        if (bodyError) throw bodyError;
        const result = runCommand(store, shapes, user, revisionId, body);
        if (mutating) counters.applied();
        return { status: 200, body: result };
      },
      peekAlias(body),
    );
  };

  const handleControl = async (req: IncomingMessage, res: ServerResponse, method: string): Promise<void> => {
    try {
      if (req.method !== 'POST' && req.method !== 'GET')
        throw new EmulatorError(405, 'method_not_allowed', 'Use POST (or GET for argument-less methods).');
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      send(res, { status: 200, body: callControl(control, method, body) });
    } catch (e) {
      send(
        res,
        errorReply(e instanceof EmulatorError ? e : new EmulatorError(500, 'internal_error', 'Unexpected failure.')),
      );
    }
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', `http://${HOST}`).pathname;
    const done = path.startsWith(CONTROL_PREFIX)
      ? handleControl(req, res, path.slice(CONTROL_PREFIX.length))
      : handleApi(req, res, path);
    done.catch((e: unknown) => {
      logger.error('emulator.internal', 'request failed unexpectedly', { error: String(e) });
      send(res, errorReply(new EmulatorError(500, 'internal_error', 'Unexpected failure.')));
    });
  });
  server.keepAliveTimeout = 5_000;

  const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const path = new URL(req.url ?? '/', `http://${HOST}`).pathname;
    if (path !== '/v1' && path !== '/v1/') {
      counters.route(`WS ${path}`);
      return rejectUpgrade(socket, 404, 'not_found', 'The realtime endpoint is /v1.');
    }
    counters.route('GET /v1 (websocket)');
    counters.command('realtime', false);
    const decision = faults.decide('realtime');
    if (!(await delay(decision.latencyMs))) return void socket.destroy();
    const action = decision.action;
    if (action?.kind === 'drop_before') return void socket.destroy();
    if (action?.kind === 'status') {
      return rejectUpgrade(
        socket,
        action.status,
        action.status < 500 ? 'invalid_request' : 'internal_error',
        `Injected fault: HTTP ${action.status}.`,
      );
    }
    if (action?.kind === 'rate_limit') {
      return rejectUpgrade(socket, 429, 'rate_limited', 'Too many requests.', {
        'Retry-After': String(action.retryAfterSec),
      });
    }
    if (action?.kind === 'malformed') {
      // Not an upgrade: a plain 200 with the raw body (the client must treat it as a failed handshake).
      socket.end(
        `HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(action.body)}\r\n\r\n${action.body}`,
      );
      return void socket.destroy();
    }
    if (hub.refuse)
      return rejectUpgrade(socket, 503, 'service_unavailable', 'The realtime server is not accepting connections.');
    let user: EmulatorUser;
    try {
      user = authenticate(handshakeKey(req));
    } catch (e) {
      const err = e as EmulatorError;
      return rejectUpgrade(socket, err.status, err.code, err.message);
    }
    const ws = await hub.accept(req, socket, head, user);
    if (action?.kind === 'drop_after') ws.terminate();
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    handleUpgrade(req, socket, head).catch(() => socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  logger.info('emulator.started', `BlobHub emulator listening on ${HOST}:${port}`, { port });

  return {
    port,
    apiUrl: `http://${HOST}:${port}/v1`,
    realtimeUrl: `ws://${HOST}:${port}/v1`,
    controlUrl: `http://${HOST}:${port}/__control`,
    control,
    onEvent: (listener) => store.onEvent(listener),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const wake of [...sleepers]) wake();
      hub.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await stopped;
      logger.info('emulator.stopped', 'BlobHub emulator stopped');
    },
  };
}
