/**
 * The realtime WebSocket (protocol §4; docs/emulator.md) on the same port, path `/v1`: handshake auth by `X-API-Key`
 * or `Sec-WebSocket-Protocol: x-api-key.base64, <base64 key>`, JSON-RPC 2.0 with `status/initialize`,
 * `subscription/add` / `subscription/remove`, and `subscription/event` notifications for every session event
 * a subscription matches. The `ws` package answers WebSocket pings by itself.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import type { Logger } from '../core/log';
import { describeIssues } from './errors';
import type { EmulatorUser, SessionEvent, SessionRef, Store } from './store';

export const SERVER_INFO = { name: 'BlobHub Realtime Server', version: '1.0.1' };
const KEY_PROTOCOL = 'x-api-key.base64';

const RpcMessage = z.looseObject({
  jsonrpc: z.literal('2.0', { error: 'jsonrpc must be "2.0"' }),
  id: z.union([z.string(), z.number()]).optional(),
  method: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
});

const SubscriptionParams = z.looseObject({
  scope: z.literal('revision', { error: 'scope must be "revision"' }),
  scope_id: z.string().min(1),
  target: z.literal('session', { error: 'target must be "session"' }),
  target_id: z.string().min(1),
  types: z.array(z.string().min(1)).min(1),
});
const RemoveParams = SubscriptionParams.extend({ types: z.array(z.string().min(1)).optional() });

interface Connection {
  ws: WebSocket;
  user: EmulatorUser;
  initialized: boolean;
  /** refKey → subscribed event types. */
  subs: Map<string, { ref: SessionRef; types: Set<string> }>;
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The API key from the handshake: `X-API-Key`, else the subprotocol pair (base64 or base64url). */
export function handshakeKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const at = protocols.indexOf(KEY_PROTOCOL);
  const encoded = at >= 0 ? protocols[at + 1] : undefined;
  if (!encoded) return undefined;
  const key = Buffer.from(encoded, 'base64').toString('utf8');
  return key.length > 0 ? key : undefined;
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error: { code, message } });
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
  );
  socket.destroy();
}

const refKey = (ref: SessionRef) => `${ref.revision_id}\u0000${ref.session_id}`;

export class RealtimeHub {
  /** While true, new handshakes are answered 503 (the "realtime is down" fault). */
  refuse = false;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {
    // The key travels as the protocol's second entry; only the marker is echoed back, never the key.
    this.wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (protocols) => (protocols.has(KEY_PROTOCOL) ? KEY_PROTOCOL : false),
    });
    this.unsubscribe = store.onEvent((event) => this.fanOut(event));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Completes the handshake for an already authenticated user. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, user: EmulatorUser): Promise<WebSocket> {
    // Base64 keys may hold characters `ws` rejects in a subprotocol token; it only needs to see the marker.
    if (req.headers['sec-websocket-protocol']?.includes(KEY_PROTOCOL))
      req.headers['sec-websocket-protocol'] = KEY_PROTOCOL;
    return new Promise((resolve) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const conn: Connection = { ws, user, initialized: false, subs: new Map() };
        this.connections.add(conn);
        ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
        ws.on('close', () => this.connections.delete(conn));
        ws.on('error', () => this.connections.delete(conn));
        this.logger.debug('emulator.realtime.connected', 'realtime connection opened', { user_id: user.user_id });
        resolve(ws);
      });
    });
  }

  /** Drops every open connection abruptly (no close frame), like a network cut. Returns how many. */
  dropAll(): number {
    const n = this.connections.size;
    for (const conn of this.connections) conn.ws.terminate();
    this.connections.clear();
    return n;
  }

  close(): void {
    this.unsubscribe();
    this.dropAll();
    this.wss.close();
  }

  private send(conn: Connection, message: Record<string, unknown>): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify({ jsonrpc: '2.0', ...message }));
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    let raw: unknown;
    try {
      raw = JSON.parse(isBinary ? '' : rawText(data));
    } catch {
      this.send(conn, { id: null, error: { code: 400, message: 'Parse error: the message is not valid JSON.' } });
      return;
    }
    // Responses to server requests (the server sends none) and other non-requests are ignored.
    if (raw && typeof raw === 'object' && !('method' in raw) && ('result' in raw || 'error' in raw)) return;
    const parsed = RpcMessage.safeParse(raw);
    if (!parsed.success) {
      const id = raw && typeof raw === 'object' && 'id' in raw ? raw.id : null;
      this.send(conn, {
        id: typeof id === 'string' || typeof id === 'number' ? id : null,
        error: { code: 400, message: `Invalid request: ${describeIssues(parsed.error.issues)}` },
      });
      return;
    }
    const { id, method, params } = parsed.data;
    try {
      const result = this.dispatch(conn, method, params ?? {});
      if (id !== undefined) this.send(conn, { id, result });
    } catch (e) {
      const error =
        e instanceof RpcError ? { code: e.code, message: e.message } : { code: 500, message: 'Unexpected failure.' };
      if (id !== undefined) this.send(conn, { id, error });
    }
  }

  private dispatch(conn: Connection, method: string, params: Record<string, unknown>): Record<string, unknown> {
    if (method === 'status/initialize') {
      conn.initialized = true;
      return { server_info: SERVER_INFO };
    }
    if (method !== 'subscription/add' && method !== 'subscription/remove') {
      throw new RpcError(405, `Method "${method}" is not supported.`);
    }
    if (!conn.initialized) throw new RpcError(400, 'Connection not initialized: send status/initialize first.');
    const parsed = (method === 'subscription/add' ? SubscriptionParams : RemoveParams).safeParse(params);
    if (!parsed.success) throw new RpcError(400, `Invalid params: ${describeIssues(parsed.error.issues)}`);
    const ref = { revision_id: parsed.data.scope_id, session_id: parsed.data.target_id };
    // Unknown sessions answer 403 too: the realtime server does not reveal which sessions exist.
    if (!this.store.hasAccess(ref, conn.user.user_id)) throw new RpcError(403, 'Access forbidden');
    const key = refKey(ref);
    if (method === 'subscription/add') {
      const sub = conn.subs.get(key) ?? { ref, types: new Set<string>() };
      for (const t of parsed.data.types ?? []) sub.types.add(t);
      conn.subs.set(key, sub);
    } else {
      const sub = conn.subs.get(key);
      const types = parsed.data.types;
      if (sub && types) for (const t of types) sub.types.delete(t);
      if (sub && (!types || sub.types.size === 0)) conn.subs.delete(key);
    }
    return {};
  }

  private fanOut(event: SessionEvent): void {
    const ref = { revision_id: event.revision_id, session_id: event.session_id };
    for (const conn of this.connections) {
      const sub = conn.subs.get(refKey(ref));
      // Access is re-checked per event: a revoked member stops receiving pushes at once.
      if (!sub?.types.has(event.type) || !this.store.hasAccess(ref, conn.user.user_id)) continue;
      this.send(conn, {
        method: 'subscription/event',
        params: {
          scope: 'revision',
          scope_id: ref.revision_id,
          target: 'session',
          target_id: ref.session_id,
          type: event.type,
          event,
        },
      });
    }
  }
}

/** The text of one WebSocket message, whichever of ws's buffer shapes it arrives in. */
function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
