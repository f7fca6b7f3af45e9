/**
 * The client's transport: one keep-alive agent per client, a TCP connect timeout on direct connections
 * (axios' own timeout bounds the whole request), a proxy agent when the environment names one (proxy.ts), and
 * the classification of a failed exchange into an ApiError (protocol §3, §8.3 for what "ambiguous" means).
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { ApiError } from './errors';
import { proxyAgent, viaProxy, type ProxyChoice } from './proxy';

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

/** The one agent of a client: the API URL fixes the scheme and redirects are not followed. */
export function requestAgent(apiUrl: string, proxy: ProxyChoice | null, connectMs: number): http.Agent {
  return proxy
    ? proxyAgent(apiUrl, proxy, { keepAlive: true })
    : /^https:/i.test(apiUrl)
      ? new ConnectTimeoutHttpsAgent(connectMs)
      : new ConnectTimeoutHttpAgent(connectMs);
}

/**
 * A failed exchange (nothing usable came back) as an ApiError: cancelled, connect/request timeout or a network
 * code; `ambiguous` unless the code proves the request never reached the server.
 */
export function networkError(
  label: string,
  e: unknown,
  signal: AbortSignal | undefined,
  apiUrl: string,
  proxy: ProxyChoice | null,
): ApiError {
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
  return new ApiError('API_NETWORK_ERROR', `${label}: ${what} talking to ${safeHost(apiUrl)}${viaProxy(proxy)}`, {
    command: label,
    networkCode,
    ambiguous: !NOT_SENT_CODES.has(networkCode),
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the API';
  }
}
