/**
 * Tolerant parsers for every documented alternative of the BlobHub responses (protocol §3): error bodies,
 * `users/me`, downloads, alias lists and items. A shape none of them fits gives `undefined` (or null), which
 * the client turns into API_BAD_RESPONSE; a non-2xx answer becomes a classified ApiError here.
 */
import { z } from 'zod';
import { ApiError, type ApiErrorCode } from './errors';
import { parseRetryAfter } from './retry';
import type { ProxyChoice } from './proxy';
import { Envelope, ThreadItem, type UserIdentity } from './types';

export interface RawResponse {
  status: number;
  body: unknown;
  headers: Record<string, unknown>;
}

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

/** A non-2xx answer that is not an answer for this call, as a classified ApiError (429, 5xx, 407, 4xx). */
export function statusError(
  label: string,
  status: number,
  headers: Record<string, unknown>,
  serverCode: string | null,
  message: string | null,
  proxy: ProxyChoice | null,
): ApiError {
  const suffix = `${serverCode ? ` ${serverCode}` : ''}${message ? `: ${message}` : ''}`;
  const base = `${label}: HTTP ${status}${suffix}`;
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(headers['retry-after']);
    return new ApiError(
      'API_RATE_LIMITED',
      `${base} (rate limited${retryAfterMs !== null ? `, retry after ${retryAfterMs} ms` : ''})`,
      {
        command: label,
        status: 429,
        serverCode,
        retryAfterMs,
      },
    );
  }
  const code: ApiErrorCode = status >= 500 ? 'API_TRANSIENT_ERROR' : 'API_COMMAND_FAILED';
  if (status === 407) {
    // Proxy Authentication Required: said plainly, naming the variable that holds the credentials.
    const p = proxy;
    const why = !p
      ? 'a proxy asks for credentials'
      : p.url.username
        ? `the proxy ${p.display} refused the credentials in ${p.variable}`
        : `the proxy ${p.display} asks for credentials: put user:password@ in ${p.variable}`;
    return new ApiError(code, `${base} (${why})`, { command: label, status: 407, serverCode });
  }
  return new ApiError(code, base, {
    command: label,
    status,
    serverCode,
    ambiguous: status >= 500,
  });
}

export function isNotFound(r: RawResponse): boolean {
  return r.status === 404 || parseErrorBody(r.body).code === 'not_found';
}

export function isNotFoundAnswer(status: number, serverCode: string | null): boolean {
  return status === 404 || serverCode === 'not_found';
}

/** Empty body → undefined (tolerated); JSON → value; anything else → not ok. */
export function decodeBody(data: unknown): { ok: true; value: unknown } | { ok: false } {
  if (data === undefined || data === null) return { ok: true, value: undefined };
  if (typeof data !== 'string') return { ok: true, value: data };
  if (data.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(data) as unknown };
  } catch {
    return { ok: false };
  }
}
