/**
 * The BlobHub REST client (protocol §3, §11): axios with our own status handling, tolerant parsing of every
 * documented response alternative, classified `ApiError`s and the shared retry policy.
 *
 * Secrets: the key is only ever placed in the `X-API-Key` header. Errors are built from status codes, server
 * error codes and network codes — never from the axios error (its config holds the headers) — and every
 * message passes through `redact`.
 *
 * Proxies (proxy.ts): axios' own proxy support stays off (`proxy: false`); when the environment names a proxy
 * for the API URL, the request agent is a proxy agent instead of the direct one (transport.ts). The response
 * parsers and the status → ApiError classification are in responses.ts.
 */
import type http from 'node:http';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { USER_AGENT } from '../../version';
import { registerSecret, silentLogger, type Logger } from '../log';
import { ApiError } from './errors';
import { withRetry, classifyForRetry, DEFAULT_BACKOFF_MAX_MS, type RetryClass } from './retry';
import { chooseProxy, type ProxyChoice, type ProxyEnv } from './proxy';
import {
  decodeBody,
  isNotFound,
  isNotFoundAnswer,
  parseAliasList,
  parseDownload,
  parseErrorBody,
  parseItem,
  parseItems,
  parseMe,
  statusError,
  type RawResponse,
} from './responses';
import { networkError, requestAgent } from './transport';
import type {
  BlobHubApi,
  CallOptions,
  Envelope,
  ListItemsQuery,
  PostItemInput,
  SessionRef,
  ThreadItem,
  UserIdentity,
} from './types';

export { parseErrorBody, parseMe, parseDownload, parseAliasList, parseItem, parseItems } from './responses';

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

// ---- the client --------------------------------------------------------------------------------------------

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
    this.agent = requestAgent(this.apiUrl, this.proxy, connectMs);
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
      throw networkError(spec.label, e, signal, this.apiUrl, this.proxy);
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
    throw statusError(spec.label, res.status, res.headers, serverCode, message, this.proxy);
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
