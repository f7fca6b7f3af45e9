/**
 * Helpers for the emulator's own tests: plain `fetch` and `ws` over real sockets on 127.0.0.1 (deliberately
 * not the worker's API client, so these tests pin the server's behaviour independently of the client).
 * Every wait is bounded.
 */
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import { startEmulator, type Emulator, type EmulatorOptions, type SessionTuple } from '../../main/emulator/index';

export interface TestUser {
  user_id: string;
  api_key: string;
}

export interface World {
  emu: Emulator;
  worker: TestUser;
  human: TestUser;
  /** A user with a valid key but no access to the session. */
  outsider: TestUser;
  ref: SessionTuple;
}

/** An emulator with a worker, a human (both members of `ref`) and an outsider; closed after the test. */
export async function world(t: TestContext, options: EmulatorOptions = {}): Promise<World> {
  const emu = await startEmulator(options);
  t.after(() => emu.close());
  const worker = emu.control.createUser({ name: 'Worker', email: 'worker@example.test' });
  const human = emu.control.createUser({ name: 'Human', email: 'human@example.test' });
  const outsider = emu.control.createUser({ name: 'Outsider', email: 'outsider@example.test' });
  const ref = emu.control.createSession({ members: [worker.user_id, human.user_id] });
  return { emu, worker, human, outsider, ref };
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: any;
}

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** `POST {apiUrl}/revisions/{rev}/data[/query]` with a raw body (string sent as is). */
export async function post(
  emu: Emulator,
  key: string | undefined,
  revisionId: string,
  body: unknown,
  route: 'data' | 'data/query' = 'data',
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== undefined) headers['x-api-key'] = key;
  const res = await fetch(`${emu.apiUrl}/revisions/${encodeURIComponent(revisionId)}/${route}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return answer(res);
}

/** One workflow command for `key` against the world's session. */
export function cmd(w: World, key: string, command: string, params: Record<string, unknown> = {}): Promise<HttpAnswer> {
  return post(w.emu, key, w.ref.revision_id, {
    engine: 'workflow_blobhub',
    command,
    session_id: w.ref.session_id,
    ...params,
  });
}

export async function me(emu: Emulator, key?: string): Promise<HttpAnswer> {
  const res = await fetch(`${emu.apiUrl}/users/me`, {
    headers: key ? { 'x-api-key': key } : {},
    signal: AbortSignal.timeout(10_000),
  });
  return answer(res);
}

export const THREAD_VALUE = { type: 'thread', thread: { attributes: { name: 'Job' }, metadata: {} } };

/** Creates a thread envelope `alias` as `key`. */
export async function makeThread(w: World, key: string, alias: string): Promise<void> {
  const res = await cmd(w, key, 'upload_session_object', { alias, value: THREAD_VALUE });
  if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
}

export const text = (t: string) => [{ type: 'text', text: t }];

// ---- realtime ----

export interface RpcClient {
  ws: WebSocket;
  /** Sends a request and waits for its response. */
  request(
    method: string,
    params?: Record<string, unknown>,
  ): Promise<{ result?: any; error?: { code: number; message: string } }>;
  /** Waits for the next message matching `match` (already received ones included). */
  next(match: (msg: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Every message received so far. */
  received: any[];
  close(): Promise<void>;
}

export type Auth = { header: string } | { protocol: string } | { none: true };

/** Opens a realtime connection; rejects with the HTTP status on a refused handshake. */
export function connect(t: TestContext, url: string, auth: Auth): Promise<RpcClient> {
  const options = 'header' in auth ? { headers: { 'X-API-Key': auth.header } } : {};
  const protocols =
    'protocol' in auth ? ['x-api-key.base64', Buffer.from(auth.protocol).toString('base64url')] : undefined;
  const ws = new WebSocket(url, protocols, { ...options, handshakeTimeout: 5_000 });
  const received: any[] = [];
  const waiters = new Set<() => void>();
  let nextId = 1;
  ws.on('message', (data) => {
    received.push(JSON.parse((data as Buffer).toString()));
    for (const w of [...waiters]) w();
  });
  const client: RpcClient = {
    ws,
    received,
    next(match, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < received.length; seen++) {
            if (match(received[seen])) {
              cleanup();
              resolve(received[seen]);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no matching realtime message within ${timeoutMs} ms; got ${JSON.stringify(received).slice(0, 500)}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async request(method, params) {
      const id = nextId++;
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }));
      return client.next((m) => m.id === id);
    },
    close() {
      if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
      return new Promise((resolve) => {
        ws.once('close', () => resolve());
        ws.terminate();
      });
    },
  };
  t.after(() => client.close());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => {
      reject(
        Object.assign(new Error(`handshake refused: ${res.statusCode}`), {
          status: res.statusCode,
          headers: res.headers,
        }),
      );
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

export function sessionParams(ref: SessionTuple, types: string[]): Record<string, unknown> {
  return { scope: 'revision', scope_id: ref.revision_id, target: 'session', target_id: ref.session_id, types };
}

export const ALL_TYPES = ['session_object_modified', 'session_object_deleted', 'session_thread_item_posted'];

/** A connected, initialized client subscribed to every session event of the world's session as `key`. */
export async function subscribed(t: TestContext, w: World, key: string): Promise<RpcClient> {
  const c = await connect(t, w.emu.realtimeUrl, { header: key });
  await c.request('status/initialize', { client_info: { name: 'test', version: '0' } });
  const sub = await c.request('subscription/add', sessionParams(w.ref, ALL_TYPES));
  if (!sub.result) throw new Error(`subscribe failed: ${JSON.stringify(sub)}`);
  return c;
}
