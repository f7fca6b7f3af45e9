/**
 * Preflight (protocol §2), in the documented order:
 *   1. credentials.yaml exists, no group/other bit    → CREDENTIALS_NOT_FOUND / INSECURE_CREDENTIALS_PERMISSIONS
 *   2. identity.yaml exists                             → IDENTITY_NOT_FOUND
 *   3. take the instance lock                           → WORKER_ALREADY_RUNNING
 *   4. proxy variables usable for the API and realtime URLs → PROXY_CONFIG_INVALID (ours: docs/cli.md, "Proxies")
 *      GET /users/me, same user_id as recorded          → AUTH_INVALID / USER_IDENTITY_MISMATCH / API_NETWORK_ERROR
 *   5. load + validate config.yaml                      → INVALID_CONFIG / UNKNOWN_JOB_TYPE / MISSING_SESSION_KEYS /
 *                                                         DUPLICATE_SECTION_TARGET
 * Only step 4 talks to the server. If the lock was taken and a later step fails, it is released first.
 */
import { WorkerError } from './errors';
import { registerSecret, type Logger } from './log';
import { BlobHubClient, type BlobHubClientOptions } from './api/client';
import { isApiError, type ApiError } from './api/errors';
import { resolveRealtimeUrl } from './api/realtime';
import { chooseProxy } from './api/proxy';
import { acquireInstanceLock, type InstanceLock } from './state/lock';
import { CredentialsFile, IdentityFile } from './state/schemas';
import { loadConfigFile, type WorkerConfig } from './state/config';
import { readYamlFile } from './state/yaml-file';
import type { StatePaths } from './state/paths';
import type { UserIdentity } from './api/types';
import { credentialsMode, fetchIdentity, insecureMessage } from './login';
import type { z } from 'zod';

export interface PreflightOptions {
  paths: StatePaths;
  logger: Logger;
  /** Passed to the BlobHubClient the worker keeps using after preflight. */
  onTransientError?: (error: ApiError) => void;
  clientOptions?: Partial<Pick<BlobHubClientOptions, 'connectTimeoutMs' | 'requestTimeoutMs' | 'env'>>;
}

export interface PreflightResult {
  credentials: CredentialsFile;
  /** The recorded identity (identity.yaml), confirmed by the server. */
  identity: IdentityFile['user'];
  /** The server's view of the same user (fresh name/email). */
  serverIdentity: UserIdentity;
  config: WorkerConfig;
  configWarnings: string[];
  lock: InstanceLock;
  /** Uses `config.polling.backoff_max_ms`. */
  client: BlobHubClient;
  /** protocol §4; `null` = realtime off, poll only. */
  realtimeUrl: string | null;
}

/**
 * Reads a file that `login` writes. Missing or unusable, it is "not found" for the user's purpose: the code
 * says to re-run login (exit 10 / 12).
 */
async function readLoginFile<S extends z.ZodType>(
  path: string,
  schema: S,
  code: 'CREDENTIALS_NOT_FOUND' | 'IDENTITY_NOT_FOUND',
): Promise<z.output<S>> {
  let file: z.output<S> | undefined;
  try {
    file = await readYamlFile(path, schema, { invalidCode: code });
  } catch (e) {
    throw new WorkerError(code, `${(e as Error).message}; run \`blobhub-worker login\``);
  }
  if (!file) throw new WorkerError(code, `${path} does not exist; run \`blobhub-worker login\``);
  return file;
}

/** Step 1 on its own (also used by `reset`). The key is registered as a secret before anything else. */
export async function loadCredentials(paths: StatePaths): Promise<CredentialsFile> {
  const mode = await credentialsMode(paths.credentials);
  if (mode === null) {
    throw new WorkerError('CREDENTIALS_NOT_FOUND', `${paths.credentials} does not exist; run \`blobhub-worker login\``);
  }
  if ((mode & 0o077) !== 0)
    throw new WorkerError('INSECURE_CREDENTIALS_PERMISSIONS', insecureMessage(paths.credentials, mode));
  const creds = await readLoginFile(paths.credentials, CredentialsFile, 'CREDENTIALS_NOT_FOUND');
  registerSecret(creds.api.key);
  return creds;
}

/** Step 2 on its own. */
export async function loadIdentity(paths: StatePaths): Promise<IdentityFile['user']> {
  return (await readLoginFile(paths.identity, IdentityFile, 'IDENTITY_NOT_FOUND')).user;
}

export async function runPreflight(options: PreflightOptions): Promise<PreflightResult> {
  const { paths, logger } = options;
  const credentials = await loadCredentials(paths);
  const identity = await loadIdentity(paths);
  const lock = await acquireInstanceLock(paths, { logger });
  let client: BlobHubClient | undefined;
  try {
    // A malformed proxy variable would fail every request: stop here, with its name, before any (PROXY_CONFIG_INVALID
    // from chooseProxy, or from the client's constructor for the API URL).
    const realtimeUrl = resolveRealtimeUrl(credentials.api);
    const realtimeProxy = realtimeUrl ? chooseProxy(realtimeUrl, options.clientOptions?.env) : null;
    // Quick check with the default backoff cap; the worker's client below uses the configured one.
    const probe = new BlobHubClient({
      apiUrl: credentials.api.url,
      apiKey: credentials.api.key,
      logger,
      ...options.clientOptions,
    });
    let server: UserIdentity;
    try {
      server = await fetchIdentity(probe);
    } catch (e) {
      if (isApiError(e, 'AUTH_INVALID')) throw e;
      const why = e instanceof WorkerError ? e.message : 'unexpected failure';
      throw new WorkerError('API_NETWORK_ERROR', `could not reach the BlobHub API to verify the key: ${why}`);
    } finally {
      probe.close();
    }
    if (server.user_id !== identity.user_id) {
      throw new WorkerError(
        'USER_IDENTITY_MISMATCH',
        `the API key belongs to ${server.user_id}, but identity.yaml records ${identity.user_id}`,
      );
    }
    const { config, warnings } = await loadConfigFile(paths.config);
    for (const w of warnings) logger.warn('config_warning', w, { path: paths.config });
    client = new BlobHubClient({
      apiUrl: credentials.api.url,
      apiKey: credentials.api.key,
      logger,
      backoffMaxMs: config.polling.backoff_max_ms,
      onTransientError: options.onTransientError,
      ...options.clientOptions,
    });
    logger.info('preflight_ok', `preflight passed; ${config.sections.length} section(s)`, {
      instance_id: lock.instanceId,
      user_id: identity.user_id,
      api_proxy: probe.proxy?.display ?? null,
      realtime_proxy: realtimeProxy?.display ?? null,
    });
    return {
      credentials,
      identity,
      serverIdentity: server,
      config,
      configWarnings: warnings,
      lock,
      client,
      realtimeUrl,
    };
  } catch (e) {
    client?.close();
    await lock.release();
    throw e;
  }
}
