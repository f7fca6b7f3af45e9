/**
 * Which proxy, if any, the worker's own connections to BlobHub use (REST and realtime), from the standard
 * environment: `HTTPS_PROXY` for https/wss targets, `HTTP_PROXY` for http/ws targets, `ALL_PROXY` as the
 * fallback, `NO_PROXY` for the hosts reached directly (lower-case names win over upper-case ones). The choice
 * is `proxy-from-env`'s; the agents are `https-proxy-agent` (CONNECT tunnel) and `http-proxy-agent`
 * (absolute-URI forwarding). See docs/cli.md, "Proxies".
 *
 * Loopback targets (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`) always go direct, whatever the variables
 * say, as Go's net/http does: the sandbox's embedded emulator and a local `npm run emulator` live there, and a
 * corporate proxy cannot reach the user's own machine anyway.
 *
 * Secrets: the proxy's password is registered with the redactor, and nothing here or in the callers ever
 * puts the proxy URL with its credentials into a message — `display` is `scheme://host:port` only.
 */
import type { Agent } from 'node:http';
import { getProxyForUrl } from 'proxy-from-env';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { WorkerError } from '../errors';
import { registerSecret } from '../log';

/** The environment the proxy variables are read from (`process.env` unless a caller injects one). */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

export interface ProxyChoice {
  /** The proxy, credentials included: only ever handed to a proxy agent. */
  readonly url: URL;
  /** The variable it came from, as spelled in the environment (`HTTPS_PROXY`, `http_proxy`, `ALL_PROXY`, …). */
  readonly variable: string;
  /** `http://host:port`: safe for logs and messages. */
  readonly display: string;
}

const EXPECTED = 'expected http://[user:password@]host[:port] or https://…';

/**
 * The proxy for `target` (an http, https, ws or wss URL), or null to connect directly (no variable set, or
 * `NO_PROXY` matches). Throws `PROXY_CONFIG_INVALID` when the variable that applies is not a usable proxy URL.
 */
export function chooseProxy(target: string, env: ProxyEnv = process.env): ProxyChoice | null {
  // ws:// and wss:// follow the same variables as http:// and https:// (proxy-from-env would read WS_PROXY).
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return null; // not a URL: the request itself fails with its own error
  }
  if (isLoopbackHost(url.hostname)) return null;
  const scheme = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https' : 'http';
  url.protocol = `${scheme}:`;
  if (!readingEnv(env, () => getProxyForUrl(url.href))) return null;

  const variable = [`${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`, 'all_proxy', 'ALL_PROXY'].find(
    (name) => env[name],
  )!;
  const raw = env[variable]!;
  // A value without a scheme is an http:// proxy, as curl, Go and Python read it (proxy-from-env would give it
  // the target's scheme: a TLS connection to a plain HTTP proxy for every https target).
  let proxy: URL;
  try {
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new WorkerError('PROXY_CONFIG_INVALID', `${variable} is not a valid proxy URL (${EXPECTED})`, { variable });
  }
  registerSecret(proxy.password);
  registerSecret(safeDecode(proxy.password));
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new WorkerError(
      'PROXY_CONFIG_INVALID',
      `${variable} names a ${proxy.protocol}// proxy, which the worker does not support (${EXPECTED})`,
      {
        variable,
      },
    );
  }
  return { url: proxy, variable, display: `${proxy.protocol}//${proxy.host}` };
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 or `::1` (a URL's `hostname`, IPv6 in brackets). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127(\.\d{1,3}){3}$/.test(host) ||
    host === '[::1]' ||
    host === '::1'
  );
}

/**
 * The agent for requests to `target` through `proxy`: a CONNECT tunnel for https (and, with `tunnel`, for
 * every target: the realtime WebSocket), absolute-URI forwarding for plain http.
 */
export function proxyAgent(
  target: string,
  proxy: ProxyChoice,
  options: { keepAlive?: boolean; tunnel?: boolean } = {},
): Agent {
  const secure = /^(https|wss):/i.test(target);
  const agentOptions = { keepAlive: options.keepAlive ?? false };
  return secure || options.tunnel
    ? new HttpsProxyAgent(proxy.url, agentOptions)
    : new HttpProxyAgent(proxy.url, agentOptions);
}

/** ` through the proxy http://host:port`, or nothing: for messages. */
export function viaProxy(proxy: ProxyChoice | null): string {
  return proxy ? ` through the proxy ${proxy.display}` : '';
}

/**
 * proxy-from-env reads `process.env`; an injected environment (tests, embedders) is shown to it for the
 * duration of the synchronous call only.
 */
function readingEnv<T>(env: ProxyEnv, read: () => T): T {
  if (env === process.env) return read();
  const real = process.env;
  process.env = env;
  try {
    return read();
  } finally {
    process.env = real;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
