/**
 * What `blobhub-worker service install` installs, as plain data (docs/cli.md → `service`): the absolute node
 * and CLI paths, the V8 flags of the launcher, the state root passed explicitly, and the environment the
 * service needs from the installing shell. The unit (systemd.ts) and the plist (launchd.ts) are pure
 * renderings of it.
 */
import { isAbsolute } from 'node:path';
import { WorkerError } from '../../core/errors';
import { NODE_FLAGS } from '../node-flags';

export const SERVICE_NAME = 'blobhub-worker';
/** The launchd label (reverse DNS, like the desktop app's appId). */
export const LAUNCHD_LABEL = 'io.blobhub.worker';

/** `user`: the user's own service manager (the default). `system`: system-wide, as root (`--allow-root`). */
export type ServiceScope = 'user' | 'system';

export interface ServiceSpec {
  scope: ServiceScope;
  /** Absolute path of the node binary that runs the service. */
  nodePath: string;
  nodeFlags: readonly string[];
  /** Absolute path of the CLI bundle (`dist/cli.js`). */
  cliPath: string;
  /** Absolute state root, passed as `--home`. */
  home: string;
  /** Variables copied from the installing shell (PATH, proxies), in a stable order. */
  env: Array<[string, string]>;
}

/**
 * Variables a service needs from the installing shell: PATH (agents are found on it, and a service
 * manager's own PATH is minimal) and the proxy variables the API client reads (docs/cli.md → Proxies).
 */
export const CAPTURED_ENV = [
  'PATH',
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'ALL_PROXY',
  'all_proxy',
  'NO_PROXY',
  'no_proxy',
] as const;

export function capturedEnv(env: NodeJS.ProcessEnv): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of CAPTURED_ENV) {
    const value = env[name];
    if (value !== undefined && value !== '') out.push([name, value]);
  }
  return out;
}

export function serviceSpec(input: Omit<ServiceSpec, 'nodeFlags'> & { nodeFlags?: readonly string[] }): ServiceSpec {
  for (const [what, path] of [
    ['node', input.nodePath],
    ['CLI', input.cliPath],
    ['state root', input.home],
  ] as const) {
    if (!isAbsolute(path)) throw new WorkerError('USAGE', `the ${what} path must be absolute: ${path}`);
    // A newline would end the unit line (or the plist string) early; no real install path has one.
    if (/[\n\r\0]/.test(path)) throw new WorkerError('USAGE', `the ${what} path holds a control character`);
  }
  for (const [name, value] of input.env) {
    if (/[\n\r\0]/.test(value)) throw new WorkerError('USAGE', `${name} holds a control character; unset or fix it`);
  }
  return { ...input, nodeFlags: input.nodeFlags ?? NODE_FLAGS };
}

/** The service's command line: node, its flags, the CLI, `start --home <root>`. */
export function serviceArgv(spec: ServiceSpec): string[] {
  return [spec.nodePath, ...spec.nodeFlags, spec.cliPath, 'start', '--home', spec.home];
}

/**
 * Exit statuses after which a restart cannot help (docs/cli.md → Exit statuses): usage (2), the preflight
 * codes 10–19 (credentials, identity, key, a second worker, config) and a bad proxy variable (21). A network
 * failure (20) and anything unexpected (1) are restarted.
 */
export const NO_RESTART_STATUSES = [2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21] as const;
