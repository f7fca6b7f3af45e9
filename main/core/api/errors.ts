/**
 * The error every BlobHub call throws (protocol §11). It is a `WorkerError`, so its message is user-facing
 * and secret-free: it is built from the HTTP status, the server's error code/message (redacted) and the
 * network error code — never from an axios error, whose config carries the `X-API-Key` header.
 */
import { WorkerError } from '../errors';
import { redact } from '../log';

export type ApiErrorCode =
  | 'API_NETWORK_ERROR'
  | 'API_TRANSIENT_ERROR'
  | 'API_RATE_LIMITED'
  | 'API_COMMAND_FAILED'
  | 'API_BAD_RESPONSE'
  /** 401/403 from `GET /users/me`: an answer about the key, never retried. */
  | 'AUTH_INVALID';

export interface ApiErrorInit {
  /** The command name (`upload_session_object`) or route (`GET /users/me`). */
  command: string;
  status?: number | null;
  serverCode?: string | null;
  /** True when the request may have been applied by the server (timeout/reset after sending, 5xx). */
  ambiguous?: boolean;
  retryAfterMs?: number | null;
  /** The low-level network error code (ECONNREFUSED, ECONNRESET, ...), when there was one. */
  networkCode?: string | null;
  /** The call was cancelled through its AbortSignal. */
  aborted?: boolean;
}

export class ApiError extends WorkerError {
  declare readonly code: ApiErrorCode;
  readonly command: string;
  readonly status: number | null;
  readonly serverCode: string | null;
  readonly ambiguous: boolean;
  readonly retryAfterMs: number | null;
  readonly networkCode: string | null;
  readonly aborted: boolean;

  constructor(code: ApiErrorCode, message: string, init: ApiErrorInit) {
    const details = {
      command: init.command,
      status: init.status ?? null,
      server_code: init.serverCode ?? null,
      ambiguous: init.ambiguous ?? false,
    };
    super(code, redact(message), details);
    this.name = 'ApiError';
    this.command = init.command;
    this.status = init.status ?? null;
    this.serverCode = init.serverCode ?? null;
    this.ambiguous = init.ambiguous ?? false;
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.networkCode = init.networkCode ?? null;
    this.aborted = init.aborted ?? false;
  }
}

export function isApiError(e: unknown, code?: ApiErrorCode): e is ApiError {
  return e instanceof ApiError && (code === undefined || e.code === code);
}
