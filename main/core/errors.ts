/**
 * Every named error code the worker can raise, in one place: its class, the remediation a user sees,
 * and (for process codes) the exit status of protocol §2. Anything that reaches a user goes through
 * `WorkerError`, so a message never carries a stack trace or the API key.
 */

export type ErrorClass = 'process' | 'section' | 'thread' | 'transient' | 'usage' | 'local';

interface CodeInfo {
  readonly class: ErrorClass;
  readonly remediation: string;
  /** Process exit status when this code ends the process (protocol §2). */
  readonly exitStatus?: number;
}

export const ERROR_CODES = {
  // Process (preflight) codes — protocol §2 exit statuses.
  CREDENTIALS_NOT_FOUND: { class: 'process', exitStatus: 10, remediation: 'Run `blobhub-worker login`.' },
  INSECURE_CREDENTIALS_PERMISSIONS: {
    class: 'process',
    exitStatus: 11,
    remediation: 'chmod 600 ~/.blobhub-worker/credentials.yaml',
  },
  IDENTITY_NOT_FOUND: { class: 'process', exitStatus: 12, remediation: 'Run `blobhub-worker login`.' },
  USER_IDENTITY_MISMATCH: {
    class: 'process',
    exitStatus: 13,
    remediation: 'Confirm intent with `blobhub-worker login`, or restore the prior identity.yaml.',
  },
  AUTH_INVALID: {
    class: 'process',
    exitStatus: 14,
    remediation: 'Re-run `blobhub-worker login` with a valid API key.',
  },
  WORKER_ALREADY_RUNNING: {
    class: 'process',
    exitStatus: 15,
    remediation: 'Stop the other worker process. A stale dead-PID lock file is replaced automatically.',
  },
  INVALID_CONFIG: {
    class: 'process',
    exitStatus: 16,
    remediation:
      'Fix config.yaml; every key is described in README.md, section "Configuration" (README.md#configuration).',
  },
  UNKNOWN_JOB_TYPE: {
    class: 'process',
    exitStatus: 17,
    remediation: 'Use a supported job_type (session_agent_harness).',
  },
  MISSING_SESSION_KEYS: { class: 'process', exitStatus: 18, remediation: "Complete the section's session block." },
  DUPLICATE_SECTION_TARGET: { class: 'process', exitStatus: 19, remediation: 'Remove one of the duplicate sections.' },
  // Ours, beyond the §2 table (docs/cli.md, "Exit statuses"): a proxy variable the API traffic would use is unusable.
  PROXY_CONFIG_INVALID: {
    class: 'process',
    exitStatus: 21,
    remediation:
      'Fix or unset the named variable: a proxy is http://[user:password@]host[:port] (or https://…); ' +
      'list hosts to reach directly in NO_PROXY.',
  },

  // Section-level codes (session-agent-harness reference).
  SESSION_OWNED_BY_DIFFERENT_USER: {
    class: 'section',
    remediation: 'Manually free the session: delete_session_object(session_id, alias="worker").',
  },
  SECTION_WORKER_OBJECT_MALFORMED: {
    class: 'section',
    remediation: 'Delete the malformed object and let the worker recreate it.',
  },
  SESSION_DETACHED_EXTERNALLY: {
    class: 'section',
    remediation: 'Re-attach by restarting the worker, or use Re-attach in the desktop app.',
  },
  SESSION_NOT_FOUND: {
    class: 'section',
    remediation: 'Check the (org_id, blob_id, revision_id, session_id) tuple and permissions.',
  },

  // Thread-level codes.
  WORK_FOLDER_NOT_ABSOLUTE: { class: 'thread', remediation: 'Update the envelope to use an absolute path.' },
  WORK_FOLDER_NOT_FOUND: { class: 'thread', remediation: 'Create the directory or fix the path.' },
  WORK_FOLDER_NOT_A_DIR: { class: 'thread', remediation: 'Point at an actual directory.' },
  WORK_FOLDER_NOT_READABLE: {
    class: 'thread',
    remediation: 'chmod / chown the directory so the worker user can read+execute it.',
  },
  WORK_FOLDER_NOT_ALLOWED: {
    class: 'thread',
    remediation:
      'Point workspace.work_folder inside one of policy.work_folder_roots in config.yaml, or add its folder ' +
      'there (then reload the config) and reset the thread.',
  },
  AGENT_TYPE_UNSUPPORTED: { class: 'thread', remediation: 'Use a supported value: claude_code or codex.' },
  PERMISSIONS_UNSUPPORTED: {
    class: 'thread',
    remediation: 'Use a supported value: autonomous or approval (default is approval).',
  },
  AGENT_EXECUTABLE_NOT_FOUND: {
    class: 'thread',
    remediation: 'Install the agent, or override agents.<type>.executable in config.yaml.',
  },
  AGENT_CRASHED: { class: 'thread', remediation: 'Inspect thread.log; reset the thread to pending to retry.' },
  THREAD_POST_FAILED: {
    class: 'thread',
    remediation: 'Check session access; inspect thread.log for the rejected payload.',
  },
  THREAD_ITEM_TOO_LARGE: {
    class: 'thread',
    remediation: 'Inspect thread.log; reduce tool output size; reset the thread.',
  },

  // Transient API codes (protocol §11): retried, never a state transition on their own.
  API_TRANSIENT_ERROR: { class: 'transient', remediation: 'Retried automatically with backoff.' },
  API_RATE_LIMITED: { class: 'transient', remediation: 'Retried automatically after Retry-After.' },
  API_NETWORK_ERROR: {
    class: 'transient',
    exitStatus: 20,
    remediation: 'Check the network and the API URL; retried automatically.',
  },
  API_COMMAND_FAILED: { class: 'transient', remediation: 'Retried up to 3 times; inspect the logs.' },

  // Our own codes for bad input and local trouble (never a stack trace).
  USAGE: { class: 'usage', exitStatus: 2, remediation: 'See `blobhub-worker --help`.' },
  API_BAD_RESPONSE: {
    class: 'transient',
    remediation: 'The server answered with an unexpected shape; retried automatically.',
  },
  STATE_FILE_INVALID: {
    class: 'local',
    remediation: 'Fix or remove the named file; the worker does not overwrite it by itself.',
  },
  STATE_IO_ERROR: { class: 'local', remediation: 'Check permissions and free space under the state root.' },
  NOT_FOUND: { class: 'usage', exitStatus: 1, remediation: 'Check the section name and thread alias.' },
  INVALID_STATE: { class: 'usage', exitStatus: 1, remediation: 'Only failed or completed threads can be reset.' },
  AGENT_PROTOCOL_ERROR: { class: 'local', remediation: 'The agent printed something unexpected; see thread.log.' },
  IPC_INVALID_INPUT: { class: 'usage', remediation: 'The window sent a malformed request; reload it.' },
  IPC_UNKNOWN_CHANNEL: {
    class: 'usage',
    remediation: 'The window asked for a channel the app does not offer; update the app.',
  },
  IPC_FORBIDDEN_SENDER: { class: 'usage', remediation: "Only the app's own windows may call the worker." },
  OPEN_FAILED: { class: 'local', remediation: 'Check that the path exists and a program is registered to open it.' },
  SANDBOX_NOT_AVAILABLE: {
    class: 'usage',
    remediation: 'The local sandbox is not available here; sign in with an API key.',
  },
  SANDBOX_START_FAILED: {
    class: 'local',
    remediation: 'See the sandbox log lines; the sandbox folder can be deleted safely.',
  },
  SANDBOX_DEMO_INCOMPLETE: {
    class: 'local',
    remediation: "Run `npm run demo -- --keep-running` and look at the sandbox's thread.log files.",
  },
  OUTBOX_CLOSED: {
    class: 'local',
    remediation: 'The item stays in the outbox journal and is posted when the thread runs again.',
  },
  // `blobhub-worker service` (docs/cli.md → service).
  SERVICE_AS_ROOT: {
    class: 'usage',
    exitStatus: 22,
    remediation:
      'Run it as the user the worker should run as (a user service), or add --allow-root for a system-wide ' +
      'service that runs as root.',
  },
  SERVICE_UNSUPPORTED: {
    class: 'usage',
    exitStatus: 1,
    remediation:
      'Service install supports Linux (systemd) and macOS (launchd); elsewhere run `blobhub-worker start` ' +
      'under your own supervisor.',
  },
  SERVICE_MANAGER_FAILED: {
    class: 'local',
    exitStatus: 1,
    remediation:
      'See the message for what systemctl/launchctl said. For a user unit over ssh or su, the user needs a ' +
      'login session (or `loginctl enable-linger USER`) and XDG_RUNTIME_DIR=/run/user/$(id -u).',
  },
  INTERNAL_ERROR: { class: 'local', remediation: 'Please report this with the log file.' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function codeInfo(code: ErrorCode): CodeInfo {
  return ERROR_CODES[code];
}

/** The one error type that crosses module boundaries. `message` is user-facing and secret-free. */
export class WorkerError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'WorkerError';
    this.code = code;
    this.details = details;
  }

  get remediation(): string {
    return ERROR_CODES[this.code].remediation;
  }

  get exitStatus(): number {
    return (ERROR_CODES[this.code] as CodeInfo).exitStatus ?? 1;
  }

  /** The stderr JSON line of protocol §2. */
  toJSON(): { level: 'error'; code: ErrorCode; message: string; remediation: string } {
    return { level: 'error', code: this.code, message: this.message, remediation: this.remediation };
  }
}

export function isWorkerError(e: unknown, code?: ErrorCode): e is WorkerError {
  return e instanceof WorkerError && (code === undefined || e.code === code);
}

/** Converts anything thrown into a WorkerError without leaking a stack trace into the message. */
export function toWorkerError(e: unknown, fallback: ErrorCode = 'INTERNAL_ERROR'): WorkerError {
  if (e instanceof WorkerError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new WorkerError(fallback, message);
}
