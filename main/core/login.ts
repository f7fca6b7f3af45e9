/**
 * `login` (protocol §1–§2), shared by the CLI and the desktop (`WorkerHost.login`).
 * Order: validate input → state root (0700) → refuse loose credentials.yaml → `GET /users/me` with the new
 * key → identity-change guard → credentials.yaml (0600) → identity.yaml (`recorded_at`) → starter
 * config.yaml if none. Nothing is written unless the key was accepted (and a changed identity confirmed).
 *
 * Documented outcomes come back as a `LoginResult`; local trouble (an unreadable identity.yaml, a full disk)
 * throws a `WorkerError` (STATE_FILE_INVALID / STATE_IO_ERROR).
 */
import { promises as fs } from 'node:fs';
import { WorkerError } from './errors';
import { registerSecret, silentLogger, type Logger } from './log';
import type { LoginRequest, LoginResult } from './host';
import type { UserIdentity, BlobHubApi } from './api/types';
import { BlobHubClient } from './api/client';
import { isApiError } from './api/errors';
import { withRetry } from './api/retry';
import { ensureStateRoot, type StatePaths } from './state/paths';
import { CredentialsFile, IdentityFile } from './state/schemas';
import { readYamlFile, writeFileAtomic, writeYamlAtomic } from './state/yaml-file';
import { CONFIG_TEMPLATE } from './state/config';

export interface LoginOptions {
  paths: StatePaths;
  request: LoginRequest;
  logger?: Logger;
  /**
   * Asked when the key belongs to another user than the recorded one and `request.confirmIdentityChange`
   * is not set (the CLI's y/N prompt). Without it, the change is refused.
   */
  confirmIdentityChange?: (recorded: UserIdentity, server: UserIdentity) => Promise<boolean>;
  /** Test seam; defaults to a BlobHubClient on `request.apiUrl`. */
  makeClient?: (apiUrl: string, apiKey: string) => BlobHubApi & { close?: () => void };
}

/** Any group/other bit on credentials.yaml is refused (protocol §1). `null` = no file. */
export async function credentialsMode(path: string): Promise<number | null> {
  try {
    return (await fs.stat(path)).mode & 0o777;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new WorkerError('STATE_IO_ERROR', `${path} cannot be inspected (${code ?? 'error'})`);
  }
}

export function insecureMessage(path: string, mode: number): string {
  return `${path} has mode ${mode.toString(8).padStart(4, '0')}; it must not be readable or writable by group or others (expected 0600)`;
}

/** `null` when `url` parses and uses one of `protocols` (e.g. `['http:', 'https:']`), else a message. */
export function validateUrl(url: string, what: string, protocols: readonly string[]): string | null {
  try {
    if (protocols.includes(new URL(url).protocol)) return null;
    return `${what} must be a ${protocols.map((p) => p.slice(0, -1)).join(' or ')} URL`;
  } catch {
    return `${what} is not a valid URL`;
  }
}

/**
 * `GET /users/me` for login and preflight: one attempt plus two quick retries of transient failures, so a
 * blip does not fail a start but a dead network is reported within about a second.
 */
export async function fetchIdentity(client: BlobHubApi): Promise<UserIdentity> {
  return withRetry(() => client.getMe({ retry: 'none' }), { maxAttempts: 3, baseMs: 250, maxMs: 1000 });
}

export async function login(options: LoginOptions): Promise<LoginResult> {
  const { paths, request } = options;
  const logger = options.logger ?? silentLogger;
  const apiKey = request.apiKey.trim();
  const apiUrl = request.apiUrl.trim().replace(/\/+$/, '');
  const realtimeUrl = request.realtimeUrl?.trim() || null;
  registerSecret(apiKey);

  if (!apiKey) return { ok: false, code: 'USAGE', message: 'the API key is empty' };
  if (/\s/.test(apiKey)) return { ok: false, code: 'USAGE', message: 'the API key contains whitespace' };
  const urlProblem =
    validateUrl(apiUrl, 'the API URL', ['http:', 'https:']) ??
    (realtimeUrl ? validateUrl(realtimeUrl, 'the realtime URL', ['ws:', 'wss:']) : null);
  if (urlProblem) return { ok: false, code: 'USAGE', message: urlProblem };

  try {
    ensureStateRoot(paths.root);
  } catch (e) {
    throw new WorkerError(
      'STATE_IO_ERROR',
      `cannot create the state root ${paths.root} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }

  const mode = await credentialsMode(paths.credentials);
  if (mode !== null && (mode & 0o077) !== 0) {
    return { ok: false, code: 'INSECURE_CREDENTIALS_PERMISSIONS', message: insecureMessage(paths.credentials, mode) };
  }

  const client = options.makeClient?.(apiUrl, apiKey) ?? new BlobHubClient({ apiUrl, apiKey, logger });
  let server: UserIdentity;
  try {
    server = await fetchIdentity(client);
  } catch (e) {
    if (isApiError(e, 'AUTH_INVALID')) return { ok: false, code: 'AUTH_INVALID', message: e.message };
    const message = e instanceof WorkerError ? e.message : 'unexpected failure contacting the API';
    return { ok: false, code: 'API_NETWORK_ERROR', message: `could not verify the key: ${message}` };
  } finally {
    client.close?.();
  }

  const recordedFile = await readYamlFile(paths.identity, IdentityFile);
  const recorded: UserIdentity | null = recordedFile
    ? {
        user_id: recordedFile.user.user_id,
        name: recordedFile.user.name ?? null,
        email: recordedFile.user.email ?? null,
      }
    : null;
  const identityChanged = recorded !== null && recorded.user_id !== server.user_id;
  if (identityChanged) {
    const confirmed =
      request.confirmIdentityChange === true || (await options.confirmIdentityChange?.(recorded, server)) === true;
    if (!confirmed) return { ok: false, code: 'USER_IDENTITY_MISMATCH', recorded, server };
    logger.warn('identity_changed', `recorded identity changes from ${recorded.user_id} to ${server.user_id}`);
  }

  // Keep a hand-set realtime URL on a refresh against the same API; a new API URL starts clean.
  let keepRealtime: string | undefined;
  if (!realtimeUrl) {
    const existing = await readYamlFile(paths.credentials, CredentialsFile).catch(() => undefined);
    if (existing && existing.api.url.replace(/\/+$/, '') === apiUrl) keepRealtime = existing.api.realtime_url;
  }
  const api: Record<string, string> = { key: apiKey, url: apiUrl };
  const rt = realtimeUrl ?? keepRealtime;
  if (rt) api.realtime_url = rt;

  await writeState(paths.credentials, { api });
  await writeState(paths.identity, {
    user: { user_id: server.user_id, name: server.name, email: server.email, recorded_at: isoSeconds(new Date()) },
  });
  try {
    await writeFileAtomic(paths.config, CONFIG_TEMPLATE, { exclusive: true, mode: 0o600 });
    logger.info('config_template_written', `wrote a starter ${paths.config}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new WorkerError(
        'STATE_IO_ERROR',
        `cannot write ${paths.config} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  logger.info('login_ok', `logged in as ${server.user_id}`, {
    user_id: server.user_id,
    identity_changed: identityChanged,
  });
  return { ok: true, identity: server, identityChanged };
}

async function writeState(path: string, value: unknown): Promise<void> {
  try {
    await writeYamlAtomic(path, value, { mode: 0o600 });
  } catch (e) {
    throw new WorkerError('STATE_IO_ERROR', `cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
