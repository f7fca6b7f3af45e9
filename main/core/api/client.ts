/**
 * The BlobHub REST client (decisions §3, §11): axios with our own status handling, tolerant parsing of every
 * documented response alternative, classified `ApiError`s and the shared retry policy.
 *
 * Secrets: the key is only ever placed in the `X-API-Key` header. Errors are built from status codes, server
 * error codes and network codes — never from the axios error (its config holds the headers) — and every
 * message passes through `redact`.
 *
 * Proxies (proxy.ts): axios' own proxy support stays off (`proxy: false`); when the environment names a proxy
 * for the API URL, the request agent is a proxy agent instead of the direct one.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { z } from 'zod';
import { USER_AGENT } from '../../version';
import { registerSecret, silentLogger, type Logger } from '../log';
import { ApiError, type ApiErrorCode } from './errors';
import { withRetry, parseRetryAfter, classifyForRetry, DEFAULT_BACKOFF_MAX_MS, type RetryClass } from './retry';
import { chooseProxy, proxyAgent, viaProxy, type ProxyChoice, type ProxyEnv } from './proxy';
import {
  Envelope,
  ThreadItem,
  type BlobHubApi,
  type CallOptions,
  type ListItemsQuery,
  type PostItemInput,
  type SessionRef,
  type UserIdentity,
} from './types';

export const DEFAULT_API_URL = 'https://api.blobhub.io/v1';
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface BlobHubClientOptions {
  apiUrl: string;
  apiKey: string;
  logger?: Logger;
  /** `polling.backoff_max_ms`. */
  backoffMaxMs?: number;
  /** Every retried transient error, for the desktop's warning ribbon. */
  onTransientError?: (error: ApiError) => void;
  /** TCP connect timeout of a direct connection (through a proxy, `requestTimeoutMs` bounds the whole call). */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Where the proxy variables are read (default `process.env`); see proxy.ts. */
  env?: ProxyEnv;
}

/** Network errors raised before anything reached the server: the request cannot have been applied. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function armConnectTimer(socket: Duplex | null | undefined, ms: number): void {
  const s = socket as Socket | null | undefined;
  if (!s || typeof s.once !== 'function' || !s.connecting) return;
  const timer = setTimeout(() => {
    const err = Object.assign(new Error(`connect timed out after ${ms} ms`), { code: 'ECONNECT_TIMEOUT' });
    s.destroy(err);
  }, ms);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  s.once('connect', clear);
  s.once('close', clear);
}

/** Agents that fail a TCP connect after `connectTimeoutMs` (axios' own timeout covers the whole request). */
class ConnectTimeoutHttpAgent extends http.Agent {
  constructor(private readonly connectMs: number) {
    super({ keepAlive: true });
  }
  override createConnection(
    options: http.ClientRequestArgs,
    cb?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, cb);
    armConnectTimer(socket, this.connectMs);
    return socket;
  }
}
class ConnectTimeoutHttpsAgent extends https.Agent {
  constructor(private readonly connectMs: number) {
    super({ keepAlive: true });
  }
  override createConnection(
    options: https.RequestOptions,
    cb?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, cb);
    armConnectTimer(socket, this.connectMs);
    return socket;
  }
}

// ---- tolerant response shapes (decisions §3) -------------------------------------------------------------

const ErrorBody = z.union([
  z.looseObject({ error: z.looseObject({ code: z.unknown().optional(), message: z.unknown().optional() }) }),
  z.looseObject({ code: z.unknown(), message: z.unknown().optional() }),
  z.looseObject({ detail: z.unknown() }),
]);

/** `{code, message}` from any of the three documented error bodies. */
export function parseErrorBody(body: unknown): { code: string | null; message: string | null } {
  const parsed = ErrorBody.safeParse(body);
  if (!parsed.success)
    return { code: null, message: typeof body === 'string' && body.trim() ? body.trim().slice(0, 300) : null };
  const b = parsed.data as Record<string, unknown>;
  const str = (v: unknown): string | null =>
    typeof v === 'string' ? v : v === undefined || v === null ? null : JSON.stringify(v).slice(0, 300);
  if (b.error && typeof b.error === 'object') {
    const e = b.error as Record<string, unknown>;
    return { code: str(e.code), message: str(e.message) };
  }
  if ('code' in b) return { code: str(b.code), message: str(b.message) };
  return { code: null, message: str(b.detail) };
}

const MeShape = z.looseObject({
  user_id: z.string().min(1).optional(),
  id: z.union([z.string().min(1), z.number()]).optional(),
  name: z.string().nullable().optional(),
  email: z.string().nullable().optional(),
});

/** `GET /users/me`: `user_id` or `id`, at the top level or under `user`. */
export function parseMe(body: unknown): UserIdentity | null {
  const candidates: unknown[] = [];
  if (body && typeof body === 'object' && 'user' in body) candidates.push((body as Record<string, unknown>).user);
  candidates.push(body);
  for (const c of candidates) {
    const p = MeShape.safeParse(c);
    if (!p.success) continue;
    const id = p.data.user_id ?? (p.data.id !== undefined ? String(p.data.id) : undefined);
    if (!id) continue;
    return { user_id: id, name: p.data.name ?? null, email: p.data.email ?? null };
  }
  return null;
}

/** `download_session_object`: `{object: env}` or the envelope at top level; `{object: null}` = absent. */
export function parseDownload(body: unknown, alias: string): Envelope | null | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if ('object' in b && (b.object === null || b.object === undefined)) return null;
  const raw = b.object && typeof b.object === 'object' ? b.object : b;
  // Tolerant: a server that leaves out the alias still told us which object it is.
  const withAlias = { ...(raw as Record<string, unknown>) };
  if (withAlias.alias === undefined) withAlias.alias = alias;
  const p = Envelope.safeParse(withAlias);
  return p.success ? p.data : undefined;
}

/** `list_session_objects`: `{aliases}` | `{objects:[{alias}]}` | `{items:[alias | {alias}]}`. */
export function parseAliasList(body: unknown): string[] | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const list = Array.isArray(b.aliases)
    ? b.aliases
    : Array.isArray(b.objects)
      ? b.objects
      : Array.isArray(b.items)
        ? b.items
        : undefined;
  if (!list) return undefined;
  const out: string[] = [];
  for (const entry of list) {
    if (typeof entry === 'string' && entry) out.push(entry);
    else if (entry && typeof entry === 'object' && typeof (entry as Record<string, unknown>).alias === 'string') {
      out.push((entry as Record<string, string>).alias);
    } else return undefined;
  }
  return [...new Set(out)];
}

/** `{item}` or the item at top level. */
export function parseItem(body: unknown): ThreadItem | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const p = ThreadItem.safeParse(b.item && typeof b.item === 'object' ? b.item : b);
  return p.success ? p.data : undefined;
}

export function parseItems(body: unknown): ThreadItem[] | undefined {
  if (!body || typeof body !== 'object' || !Array.isArray((body as Record<string, unknown>).items)) return undefined;
  const p = z.array(ThreadItem).safeParse((body as Record<string, unknown>).items);
  return p.success ? p.data : undefined;
}

// ---- the client --------------------------------------------------------------------------------------------

interface RawResponse {
  status: number;
  body: unknown;
  headers: Record<string, unknown>;
}

interface RequestSpec {
  /** Label used in messages and counters: command name or `GET /users/me`. */
  label: string;
  method: 'GET' | 'POST';
  path: string;
  data?: unknown;
  /** HTTP statuses / server codes that are answers for this call: returned, not thrown. */
  answers?: (status: number, serverCode: string | null) => boolean;
}

export class BlobHubClient implements BlobHubApi {
  readonly apiUrl: string;
  /** The proxy the API traffic goes through, or null (direct). */
  readonly proxy: ProxyChoice | null;
  private readonly http: AxiosInstance;
  private readonly logger: Logger;
  private readonly backoffMaxMs: number;
  private readonly onTransientError: ((error: ApiError) => void) | undefined;
  private readonly agent: http.Agent;
  /** Aborted by close(): ends every call and retry wait of this client. */
  private readonly closing = new AbortController();

  constructor(options: BlobHubClientOptions) {
    registerSecret(options.apiKey);
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.logger = options.logger ?? silentLogger;
    this.backoffMaxMs = options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.onTransientError = options.onTransientError;
    const connectMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.proxy = chooseProxy(this.apiUrl, options.env);
    // One agent: the API URL fixes the scheme and redirects are not followed.
    this.agent = this.proxy
      ? proxyAgent(this.apiUrl, this.proxy, { keepAlive: true })
      : /^https:/i.test(this.apiUrl)
        ? new ConnectTimeoutHttpsAgent(connectMs)
        : new ConnectTimeoutHttpAgent(connectMs);
    this.http = axios.create({
      baseURL: this.apiUrl,
      timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      headers: {
        'X-API-Key': options.apiKey,
        'Content-Type': 'application/json',
        'User-Agent': USER_AGENT,
        Accept: 'application/json',
      },
      httpAgent: this.agent,
      httpsAgent: this.agent,
      proxy: false,
      maxRedirects: 0,
      // We classify every status ourselves and parse the raw text ourselves (bad JSON → API_BAD_RESPONSE).
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      transitional: { clarifyTimeoutError: true },
    });
  }

  /**
   * Shutdown: aborts every call still in flight or waiting to retry (a stray call retrying against a server
   * that went away kept the process alive after "stopped"), makes later calls fail at once as aborted, and
   * frees the keep-alive sockets.
   */
  close(): void {
    this.closing.abort();
    this.agent.destroy();
  }

  // ---- BlobHubApi ----

  async getMe(options?: CallOptions): Promise<UserIdentity> {
    const label = 'GET /users/me';
    const res = await this.call(
      { label, method: 'GET', path: '/users/me', answers: (s) => s === 401 || s === 403 },
      options,
      (r) => {
        if (r.status === 401 || r.status === 403) {
          const { message } = parseErrorBody(r.body);
          throw new ApiError(
            'AUTH_INVALID',
            `the server rejected the API key (HTTP ${r.status}${message ? `: ${message}` : ''})`,
            {
              command: label,
              status: r.status,
            },
          );
        }
        return parseMe(r.body) ?? this.badResponse(label, r, 'no user_id or id');
      },
    );
    return res;
  }

  async uploadSessionObject(
    ref: SessionRef,
    alias: string,
    value: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<void> {
    await this.command(ref, 'upload_session_object', { alias, value }, options, (r) =>
      this.expectObject('upload_session_object', r),
    );
  }

  async downloadSessionObject(ref: SessionRef, alias: string, options?: CallOptions): Promise<Envelope | null> {
    const name = 'download_session_object';
    return this.command(
      ref,
      name,
      { alias },
      options,
      (r) => {
        if (isNotFound(r)) return null;
        const env = parseDownload(r.body, alias);
        return env === undefined ? this.badResponse(name, r, 'no envelope') : env;
      },
      isNotFoundAnswer,
    );
  }

  async listSessionObjects(ref: SessionRef, options?: CallOptions): Promise<string[]> {
    const name = 'list_session_objects';
    return this.command(
      ref,
      name,
      {},
      options,
      (r) => parseAliasList(r.body) ?? this.badResponse(name, r, 'no alias list'),
      undefined,
      // 404/403 here mean "unknown session / not ours" (attach → SESSION_NOT_FOUND): an answer, not retried.
      (s) => s === 404 || s === 403,
    );
  }

  async deleteSessionObject(ref: SessionRef, alias: string, options?: CallOptions): Promise<void> {
    // Deleting an absent object is done already: 404/not_found is success (idempotent retries).
    await this.command(
      ref,
      'delete_session_object',
      { alias },
      options,
      (r) => (isNotFound(r) ? undefined : this.expectObject('delete_session_object', r)),
      isNotFoundAnswer,
    );
  }

  async postThreadItem(
    ref: SessionRef,
    alias: string,
    item: PostItemInput,
    options?: CallOptions,
  ): Promise<ThreadItem> {
    const name = 'post_session_thread_item';
    const params: Record<string, unknown> = { alias, content: item.content };
    if (item.metadata !== undefined) params.metadata = item.metadata;
    if (item.parent_id !== undefined) params.parent_id = item.parent_id;
    return this.command(
      ref,
      name,
      params,
      options,
      (r) => parseItem(r.body) ?? this.badResponse(name, r, 'no item'),
      undefined,
      // Re-sending the same oversized item gets the same answer; the harness truncates instead.
      (_s, code) => code === 'thread_item_too_large',
    );
  }

  async listThreadItems(
    ref: SessionRef,
    alias: string,
    query: ListItemsQuery,
    options?: CallOptions,
  ): Promise<ThreadItem[]> {
    const name = 'list_session_thread_items';
    const params: Record<string, unknown> = { alias };
    if (query.ascending !== undefined) params.ascending = query.ascending;
    if (query.created_since !== undefined) params.created_since = query.created_since;
    if (query.created_before !== undefined) params.created_before = query.created_before;
    return this.command(
      ref,
      name,
      params,
      options,
      (r) => parseItems(r.body) ?? this.badResponse(name, r, 'no items list'),
    );
  }

  async getThreadItem(
    ref: SessionRef,
    alias: string,
    itemId: string,
    options?: CallOptions,
  ): Promise<ThreadItem | null> {
    const name = 'get_session_thread_item';
    return this.command(
      ref,
      name,
      { alias, item_id: itemId },
      options,
      (r) => {
        if (isNotFound(r)) return null;
        return parseItem(r.body) ?? this.badResponse(name, r, 'no item');
      },
      isNotFoundAnswer,
    );
  }

  // ---- plumbing ----

  private command<T>(
    ref: SessionRef,
    command: string,
    params: Record<string, unknown>,
    options: CallOptions | undefined,
    parse: (r: RawResponse) => T,
    answers?: (status: number, serverCode: string | null) => boolean,
    finalStatuses?: (status: number, serverCode: string | null) => boolean,
  ): Promise<T> {
    const spec: RequestSpec = {
      label: command,
      method: 'POST',
      path: `/revisions/${encodeURIComponent(ref.revision_id)}/data`,
      data: { engine: 'workflow_blobhub', command, session_id: ref.session_id, ...params },
      answers,
    };
    return this.call(spec, options, parse, finalStatuses);
  }

  private async call<T>(
    spec: RequestSpec,
    options: CallOptions | undefined,
    parse: (r: RawResponse) => T,
    finalStatuses?: (status: number, serverCode: string | null) => boolean,
  ): Promise<T> {
    const classify = (e: unknown): RetryClass => {
      if (e instanceof ApiError && finalStatuses && e.status !== null && finalStatuses(e.status, e.serverCode))
        return 'fatal';
      return classifyForRetry(e);
    };
    const signal = options?.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal;
    return withRetry(async () => parse(await this.send(spec, signal)), {
      retry: options?.retry,
      deadlineMs: options?.deadlineMs,
      signal,
      maxMs: this.backoffMaxMs,
      classify,
      onRetry: (e, attempt, delayMs) => {
        const err = e as ApiError;
        this.logger.warn('api_retry', `${err.message}; retrying in ${delayMs} ms`, {
          code: err.code,
          command: spec.label,
          status: err.status,
          attempt,
          delay_ms: delayMs,
        });
        try {
          this.onTransientError?.(err);
        } catch {
          // A broken ribbon callback must not break the call.
        }
      },
    });
  }

  /** One HTTP exchange. Returns 2xx and "answer" responses; throws a classified ApiError otherwise. */
  private async send(spec: RequestSpec, signal?: AbortSignal): Promise<RawResponse> {
    let res: AxiosResponse<string>;
    try {
      res = await this.http.request<string>({ method: spec.method, url: spec.path, data: spec.data, signal });
    } catch (e) {
      throw this.networkError(spec.label, e, signal);
    }
    const body = decodeBody(res.data);
    const raw: RawResponse = {
      status: res.status,
      body: body.ok ? body.value : res.data,
      headers: res.headers,
    };
    if (res.status >= 200 && res.status < 300) {
      if (!body.ok) this.badResponse(spec.label, raw, 'not JSON');
      return raw;
    }
    const { code: serverCode, message } = parseErrorBody(raw.body);
    if (spec.answers?.(res.status, serverCode)) return raw;
    const suffix = `${serverCode ? ` ${serverCode}` : ''}${message ? `: ${message}` : ''}`;
    const base = `${spec.label}: HTTP ${res.status}${suffix}`;
    if (res.status === 429) {
      const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
      throw new ApiError(
        'API_RATE_LIMITED',
        `${base} (rate limited${retryAfterMs !== null ? `, retry after ${retryAfterMs} ms` : ''})`,
        {
          command: spec.label,
          status: 429,
          serverCode,
          retryAfterMs,
        },
      );
    }
    const code: ApiErrorCode = res.status >= 500 ? 'API_TRANSIENT_ERROR' : 'API_COMMAND_FAILED';
    if (res.status === 407) {
      // Proxy Authentication Required: said plainly, naming the variable that holds the credentials.
      const p = this.proxy;
      const proxy = !p
        ? 'a proxy asks for credentials'
        : p.url.username
          ? `the proxy ${p.display} refused the credentials in ${p.variable}`
          : `the proxy ${p.display} asks for credentials: put user:password@ in ${p.variable}`;
      throw new ApiError(code, `${base} (${proxy})`, { command: spec.label, status: 407, serverCode });
    }
    throw new ApiError(code, base, {
      command: spec.label,
      status: res.status,
      serverCode,
      ambiguous: res.status >= 500,
    });
  }

  private networkError(label: string, e: unknown, signal?: AbortSignal): ApiError {
    const err = e as { code?: unknown; cause?: { code?: unknown } };
    const aborted = signal?.aborted === true || err.code === 'ERR_CANCELED';
    const causeCode = typeof err.cause?.code === 'string' ? err.cause.code : undefined;
    const networkCode = causeCode ?? (typeof err.code === 'string' ? err.code : 'UNKNOWN');
    if (aborted) {
      return new ApiError('API_NETWORK_ERROR', `${label}: cancelled`, {
        command: label,
        aborted: true,
        ambiguous: true,
        networkCode,
      });
    }
    const timeout = networkCode === 'ETIMEDOUT' || networkCode === 'ECONNABORTED';
    const what =
      networkCode === 'ECONNECT_TIMEOUT'
        ? 'connect timed out'
        : timeout
          ? 'request timed out'
          : `network error (${networkCode})`;
    return new ApiError(
      'API_NETWORK_ERROR',
      `${label}: ${what} talking to ${safeHost(this.apiUrl)}${viaProxy(this.proxy)}`,
      {
        command: label,
        networkCode,
        ambiguous: !NOT_SENT_CODES.has(networkCode),
      },
    );
  }

  private expectObject(label: string, r: RawResponse): void {
    if (r.body === undefined || (r.body !== null && typeof r.body === 'object')) return;
    this.badResponse(label, r, 'not a JSON object');
  }

  private badResponse(label: string, r: RawResponse, why: string): never {
    throw new ApiError('API_BAD_RESPONSE', `${label}: unexpected response (HTTP ${r.status}, ${why})`, {
      command: label,
      status: r.status,
      // A mutating command that answered 2xx was applied even if we cannot read the answer.
      ambiguous:
        label !== 'GET /users/me' &&
        !label.startsWith('list_') &&
        !label.startsWith('get_') &&
        !label.startsWith('download_'),
    });
  }
}

function isNotFound(r: RawResponse): boolean {
  return r.status === 404 || parseErrorBody(r.body).code === 'not_found';
}

function isNotFoundAnswer(status: number, serverCode: string | null): boolean {
  return status === 404 || serverCode === 'not_found';
}

/** Empty body → undefined (tolerated); JSON → value; anything else → not ok. */
function decodeBody(data: unknown): { ok: true; value: unknown } | { ok: false } {
  if (data === undefined || data === null) return { ok: true, value: undefined };
  if (typeof data !== 'string') return { ok: true, value: data };
  if (data.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(data) as unknown };
  } catch {
    return { ok: false };
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the API';
  }
}
