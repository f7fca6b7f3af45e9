/**
 * A tiny forward proxy for the proxy tests, on 127.0.0.1: absolute-URI forwarding (GET/POST …) and CONNECT
 * tunnelling, both behind Basic `Proxy-Authorization` when credentials are set. It records what it carried.
 * The worker never proxies loopback targets, so tests name the emulator `emulator.test` (see `viaName`): only
 * the proxy resolves that name, to 127.0.0.1. Any other host is recorded and refused with 403 (CONNECT) or
 * 502 (forwarding), so a test can aim at a made-up https host and see the tunnel request without any outside
 * network.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TestProxy {
  /** `http://127.0.0.1:PORT`, without credentials. */
  readonly origin: string;
  /** The URL to put in HTTP_PROXY: with `user:password@` (URL-encoded) when the proxy wants credentials. */
  readonly url: string;
  /** Absolute-URI requests forwarded: `POST http://127.0.0.1:1234/v1/…`. */
  readonly forwarded: string[];
  /** CONNECT targets (`host:port`), tunnelled or refused. */
  readonly tunnels: string[];
  /** Requests answered 407 (missing or wrong credentials). */
  readonly refusedAuth: () => number;
  /** Every `user:password` pair the clients sent, decoded. */
  readonly credentialsSeen: string[];
  close(): Promise<void>;
}

/** The name only the test proxy knows: it stands for 127.0.0.1. */
export const EMULATOR_NAME = 'emulator.test';

/** `url` with its 127.0.0.1 host renamed to EMULATOR_NAME, so the worker sends it through the proxy. */
export function viaName(url: string): string {
  return url.replace('//127.0.0.1:', `//${EMULATOR_NAME}:`);
}

/** Where the proxy really connects for `host`: 127.0.0.1 for EMULATOR_NAME, null (refused) for anything else. */
function resolveTarget(host: string): string | null {
  return host === EMULATOR_NAME || host === '127.0.0.1' ? '127.0.0.1' : null;
}

const HOP_BY_HOP = new Set(['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive']);

export async function startTestProxy(auth?: { user: string; password: string }): Promise<TestProxy> {
  const forwarded: string[] = [];
  const tunnels: string[] = [];
  const credentialsSeen: string[] = [];
  let refused = 0;
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers['proxy-authorization'];
    if (header?.startsWith('Basic ')) credentialsSeen.push(Buffer.from(header.slice(6), 'base64').toString());
    if (!auth) return true;
    const ok = header === `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
    if (!ok) refused += 1;
    return ok;
  };

  const server = createServer((req, res) => {
    if (!authorized(req)) {
      res
        .writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test"', 'Content-Type': 'text/plain' })
        .end('proxy auth');
      return;
    }
    if (!req.url?.startsWith('http://')) {
      res.writeHead(400).end('absolute URI expected');
      return;
    }
    forwarded.push(`${req.method} ${req.url}`);
    const target = new URL(req.url);
    const address = resolveTarget(target.hostname);
    if (!address) {
      res.writeHead(502).end('unknown host');
      return;
    }
    target.hostname = address;
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !HOP_BY_HOP.has(k)));
    const upstream = request(target, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end('upstream failed'));
    req.pipe(upstream);
  });
  server.on('connection', track);
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    track(client);
    const target = req.url ?? '';
    tunnels.push(target);
    if (!authorized(req)) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const address = resolveTarget(host);
    if (!address) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = connect(port, address, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const url = auth
    ? `http://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.password)}@127.0.0.1:${port}`
    : origin;
  return {
    origin,
    url,
    forwarded,
    tunnels,
    credentialsSeen,
    refusedAuth: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Every proxy variable cleared, then `vars`: a child's environment that ignores the developer's own proxy. */
export function proxyEnv(vars: Record<string, string>): Record<string, string> {
  const cleared = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY'].flatMap((n) => [n, n.toLowerCase()]);
  return { ...Object.fromEntries(cleared.map((n) => [n, ''])), ...vars };
}
