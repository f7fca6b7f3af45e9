/**
 * The realtime change feed of one section (protocol §4): a WebSocket with `X-API-Key`, JSON-RPC 2.0
 * `status/initialize` then `subscription/add` for the section's session, and `subscription/event`
 * notifications handed to `onEvent`. It reconnects forever with the §11 backoff (reset once subscribed),
 * keeps the link honest with ping/pong, and calls `onConnected` after every (re)subscribe so the harness
 * runs a full reconcile — events missed while disconnected are not replayed by the server.
 *
 * The keep-alive is the WebSocket ping/pong (protocol §4 names no RPC for it): a ping every
 * `pingIntervalMs` (30 s), and no pong before the next ping ends the connection. `lastKeepAliveAt` is when
 * the server last answered one; the harness lengthens its safety-net reconcile only while that is recent
 * (protocol §4).
 *
 * Proxies (proxy.ts): ws:// follows HTTP_PROXY and wss:// HTTPS_PROXY (plus ALL_PROXY / NO_PROXY), like the
 * REST client; through a proxy the WebSocket always rides a CONNECT tunnel, the one form every proxy that
 * carries WebSockets accepts (an Upgrade forwarded in absolute-URI form is hop-by-hop and often dropped).
 */
import type { Agent } from 'node:http';
import WebSocket from 'ws';
import { USER_AGENT, VERSION } from '../../version';
import { registerSecret, silentLogger, type Logger } from '../log';
import { Backoff } from './retry';
import { SessionEvent, type SessionRef } from './types';
import { DEFAULT_API_URL } from './client';
import { chooseProxy, proxyAgent, viaProxy, type ProxyChoice, type ProxyEnv } from './proxy';

export const DEFAULT_REALTIME_URL = 'wss://realtime.blobhub.io/v1';
export const SESSION_EVENT_TYPES = [
  'session_object_modified',
  'session_object_deleted',
  'session_thread_item_posted',
] as const;

export type RealtimeStatus = 'connecting' | 'connected' | 'off';

/** protocol §4: the configured URL, else the public default only when the REST URL is the public default. */
export function resolveRealtimeUrl(api: { url: string; realtime_url?: string | undefined }): string | null {
  if (api.realtime_url) return api.realtime_url;
  return api.url.replace(/\/+$/, '') === DEFAULT_API_URL ? DEFAULT_REALTIME_URL : null;
}

export interface RealtimeClientOptions {
  url: string;
  apiKey: string;
  ref: SessionRef;
  logger?: Logger;
  /** `polling.backoff_max_ms`. */
  backoffMaxMs?: number;
  onEvent: (event: SessionEvent) => void;
  onStatus?: (status: RealtimeStatus) => void;
  /** After every successful (re)subscribe. Errors are logged, never fatal. */
  onConnected?: () => void | Promise<void>;
  /** Ping every this many ms; no pong before the next ping → terminate and reconnect. */
  pingIntervalMs?: number;
  /** Handshake + initialize + subscribe must finish within this. */
  connectTimeoutMs?: number;
  /** Where the proxy variables are read (default `process.env`); see proxy.ts. */
  env?: ProxyEnv;
}

interface RpcMessage {
  jsonrpc?: string;
  id?: string | number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
}

export class RealtimeClient {
  private ws: WebSocket | null = null;
  private currentStatus: RealtimeStatus = 'off';
  private closed = true;
  private readonly backoff: Backoff;
  private readonly logger: Logger;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private setupTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private readonly pending = new Map<string | number, (msg: RpcMessage) => void>();
  /** Count of successful subscribes; handy for tests and logs. */
  connections = 0;
  private keepAliveAt: number | null = null;
  /** The proxy the WebSocket goes through, or null (direct). */
  readonly proxy: ProxyChoice | null;
  private readonly agent: Agent | undefined;

  constructor(private readonly options: RealtimeClientOptions) {
    registerSecret(options.apiKey);
    this.logger = options.logger ?? silentLogger;
    this.proxy = chooseProxy(options.url, options.env);
    this.agent = this.proxy ? proxyAgent(options.url, this.proxy, { tunnel: true }) : undefined;
    this.backoff = new Backoff({ maxMs: options.backoffMaxMs });
  }

  get status(): RealtimeStatus {
    return this.currentStatus;
  }

  /**
   * `Date.now()` of the last pong of the current connection, or null (not connected, or no ping answered
   * yet). A new connection starts from null: only an answered ping proves the link carries traffic.
   */
  get lastKeepAliveAt(): number | null {
    return this.currentStatus === 'connected' ? this.keepAliveAt : null;
  }

  /** Starts connecting (idempotent). */
  start(): void {
    if (!this.closed) return;
    this.closed = false;
    this.connect();
  }

  /** Closes for good; resolves once the socket is gone. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    this.setStatus('off');
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        try {
          ws.close(1000, 'client closing');
        } catch {
          ws.terminate();
        }
      });
    }
  }

  private setStatus(status: RealtimeStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    try {
      this.options.onStatus?.(status);
    } catch {
      // Listener trouble must not break the feed.
    }
  }

  private clearTimers(): void {
    for (const t of [this.reconnectTimer, this.pingTimer, this.setupTimer]) if (t) clearTimeout(t);
    this.reconnectTimer = this.pingTimer = this.setupTimer = null;
    this.pending.clear();
  }

  private connect(): void {
    if (this.closed) return;
    this.setStatus('connecting');
    const ws = new WebSocket(this.options.url, {
      headers: { 'X-API-Key': this.options.apiKey, 'User-Agent': USER_AGENT },
      handshakeTimeout: this.options.connectTimeoutMs ?? 10_000,
      agent: this.agent,
    });
    this.ws = ws;
    this.keepAliveAt = null;
    let alive = true;
    this.setupTimer = setTimeout(
      () => {
        this.logger.warn('realtime_setup_timeout', 'realtime setup did not finish in time; reconnecting', {
          code: 'API_NETWORK_ERROR',
        });
        ws.terminate();
      },
      (this.options.connectTimeoutMs ?? 10_000) + 1000,
    );

    ws.on('open', () => {
      void this.handshake(ws);
    });
    ws.on('message', (data) => this.onMessage(data));
    ws.on('pong', () => {
      if (this.ws !== ws) return;
      alive = true;
      this.keepAliveAt = Date.now();
    });
    ws.on('unexpected-response', (_req, res) => {
      // 401/403 at the handshake: keep retrying with backoff (the REST side reports auth problems).
      const by =
        res.statusCode === 407 && this.proxy
          ? ` (proxy authentication failed: check the credentials in ${this.proxy.variable})`
          : '';
      this.logger.warn('realtime_rejected', `realtime handshake answered HTTP ${res.statusCode}${by}`, {
        code: 'API_NETWORK_ERROR',
        status: res.statusCode,
      });
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      this.logger.warn('realtime_error', `realtime connection error (${code})${viaProxy(this.proxy)}`, {
        code: 'API_NETWORK_ERROR',
      });
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.clearTimers();
      this.ws = null;
      this.keepAliveAt = null;
      if (this.closed) return;
      this.setStatus('connecting');
      const delay = this.backoff.next();
      this.logger.info('realtime_reconnect', `realtime disconnected; reconnecting in ${delay} ms`, { delay_ms: delay });
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });

    const pingEvery = this.options.pingIntervalMs ?? 30_000;
    const ping = (): void => {
      if (this.ws !== ws) return;
      if (!alive) {
        this.logger.warn('realtime_ping_timeout', 'no pong from the realtime server; reconnecting', {
          code: 'API_NETWORK_ERROR',
        });
        ws.terminate();
        return;
      }
      alive = false;
      if (ws.readyState === WebSocket.OPEN) ws.ping();
      this.pingTimer = setTimeout(ping, pingEvery);
    };
    this.pingTimer = setTimeout(ping, pingEvery);
  }

  private async handshake(ws: WebSocket): Promise<void> {
    const { ref } = this.options;
    const init = await this.rpc(ws, 'status/initialize', { client_info: { name: 'blobhub-worker', version: VERSION } });
    if (!init || this.ws !== ws) return;
    const sub = await this.rpc(ws, 'subscription/add', {
      scope: 'revision',
      scope_id: ref.revision_id,
      target: 'session',
      target_id: ref.session_id,
      types: [...SESSION_EVENT_TYPES],
    });
    if (!sub || this.ws !== ws) return;
    if (this.setupTimer) clearTimeout(this.setupTimer);
    this.setupTimer = null;
    this.backoff.reset();
    this.connections += 1;
    this.setStatus('connected');
    this.logger.info('realtime_connected', 'realtime subscribed', { session_id: ref.session_id });
    try {
      await this.options.onConnected?.();
    } catch (e) {
      this.logger.warn('realtime_on_connected_failed', `reconcile after connect failed: ${(e as Error).message}`);
    }
  }

  /** Sends a request; resolves with its result, or null after logging an error answer (socket terminated). */
  private rpc(ws: WebSocket, method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, (msg) => {
        if (msg.error) {
          const m = typeof msg.error.message === 'string' ? msg.error.message : 'error';
          this.logger.warn('realtime_rpc_error', `${method} failed: ${scalarText(msg.error.code)} ${m}`.trim(), {
            code: 'API_COMMAND_FAILED',
          });
          ws.terminate();
          resolve(null);
        } else resolve(msg.result ?? {});
      });
      try {
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      } catch {
        this.pending.delete(id);
        resolve(null);
      }
    });
  }

  private onMessage(data: WebSocket.RawData): void {
    let msg: RpcMessage;
    try {
      msg = JSON.parse(rawText(data)) as RpcMessage;
    } catch {
      this.logger.warn('realtime_bad_message', 'ignored a non-JSON realtime message');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (msg.id !== undefined && msg.method === undefined) {
      const waiter = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      waiter?.(msg);
      return;
    }
    if (msg.method === 'subscription/event') {
      const params = (msg.params ?? {}) as Record<string, unknown>;
      const raw = params.event && typeof params.event === 'object' ? params.event : params;
      const parsed = SessionEvent.safeParse(raw);
      if (!parsed.success) {
        this.logger.warn('realtime_bad_event', 'ignored a realtime event without a type');
        return;
      }
      const ev = parsed.data;
      if (ev.session_id !== undefined && ev.session_id !== this.options.ref.session_id) return;
      try {
        this.options.onEvent(ev);
      } catch (e) {
        this.logger.warn('realtime_event_handler_failed', (e as Error).message);
      }
      return;
    }
    if (msg.id !== undefined && msg.method) {
      // A server → client request we do not implement: answer per JSON-RPC so the server is not left waiting.
      this.ws?.send(
        JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: 405, message: 'method not supported' } }),
      );
    }
  }
}

/** A JSON-RPC `code` as text: numbers and strings as they are, anything else left out. */
function scalarText(v: unknown): string {
  return typeof v === 'number' || typeof v === 'string' ? String(v) : '';
}

/** The text of one WebSocket message, whichever of ws's buffer shapes it arrives in. */
function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
