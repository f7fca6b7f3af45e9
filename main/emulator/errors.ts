/**
 * The emulator's error: an HTTP status plus the wire code the real server answers (protocol §3). Every rule violation a
 * command or control call can hit is one of these, so the HTTP layer can answer
 * `{"error":{"code","message"}}` without ever leaking a stack trace.
 */
export type EmulatorErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'invalid_json'
  | 'invalid_request'
  | 'unknown_engine'
  | 'unknown_command'
  | 'method_not_allowed'
  | 'invalid_thread_envelope'
  | 'thread_item_too_large'
  | 'payload_too_large'
  | 'rate_limited'
  | 'service_unavailable'
  | 'internal_error'
  | 'conflict';

export class EmulatorError extends Error {
  readonly status: number;
  readonly code: EmulatorErrorCode;

  constructor(status: number, code: EmulatorErrorCode, message: string) {
    super(message);
    this.name = 'EmulatorError';
    this.status = status;
    this.code = code;
  }

  toBody(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Formats a zod issue list as one readable line naming the offending paths. */
export function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}
