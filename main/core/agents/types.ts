/**
 * The one agent interface the harness drives. Claude Code and Codex adapters both implement it;
 * the harness never sees a wire format. Events are emitted in the order the agent produced them.
 */
import type { AgentType, PermissionMode } from '../state/schemas';
import type { Logger } from '../log';
import type { ThreadLog } from './thread-log';

export interface AgentStartOptions {
  /** Absolute path of the executable (already resolved by `resolveExecutable`). */
  executable: string;
  /** Working folder; the agent runs with cwd = this. */
  cwd: string;
  permissions: PermissionMode;
  model?: string | null;
  effort?: string | null;
  /** Resume this agent session id; otherwise start fresh. */
  resumeSessionId?: string | null;
  /**
   * Claude Code only: the id for a fresh session (`--session-id`), so it is known before the first turn
   * (protocol §6.2 step 6). Codex learns its id from `thread/start`.
   */
  newSessionId?: string | null;
  /** Every byte of agent stdio is appended here (untruncated), with a direction prefix per line. */
  logFile: string;
  /** Environment for the child; defaults to the worker's own environment (protocol §7). */
  env?: NodeJS.ProcessEnv;
  /** Share the harness's own ThreadLog for `logFile` (one fd, strict record order); else one is opened. */
  threadLog?: ThreadLog;
  /** Skipped (non-JSON / malformed) agent lines are reported here; defaults to silent. */
  logger?: Logger;
  /** How long `start()` waits for the handshake before failing with AGENT_CRASHED (default 60 s). */
  startTimeoutMs?: number;
  /**
   * Rules the user allowed for this agent session earlier (thread.yaml `agent.granted`, protocol §9.2a), handed
   * back at spawn where the agent supports it (Claude: `--allowedTools`). Codex has no way to take them.
   */
  grantedRules?: string[];
}

/** A question of an ask_user_question prompt (protocol §9.1). */
export interface PromptQuestion {
  question: string;
  header?: string;
  multi_select: boolean;
  options: Array<{ label: string; description?: string }>;
}

/** What the agent is waiting for. The adapter mints `id` (`pr_` + ULID, protocol §9.1). */
export type AgentPrompt =
  | {
      id: string;
      kind: 'approval';
      tool: { name: string; invocation_id: string; input: unknown };
      reason?: string;
      /** A unified diff of what the tool would change (file edits, protocol §9.1); bounded like §8.2. */
      diff?: string;
      /** `+N −M path` per changed file, one line each. */
      diff_summary?: string;
      /**
       * What "allow for this session" grants (protocol §9.2a), as `Tool(content)` rules. Absent or empty: the
       * agent offered nothing to remember, so a session answer is taken as allow once.
       */
      session_rules?: string[];
    }
  | { id: string; kind: 'ask_user_question'; questions: PromptQuestion[] }
  | { id: string; kind: 'text'; question: string }
  /** Claude's ExitPlanMode: the agent asks to leave plan mode with this plan (markdown). Answered like an approval. */
  | { id: string; kind: 'plan'; plan: string; tool: { name: string; invocation_id: string; input: unknown } };

export type PromptKind = AgentPrompt['kind'];

/** How long an allow holds (protocol §9.2a). */
export type ApprovalScope = 'once' | 'session';

/** A structured answer to a prompt (from the thread parser of §9.2 or from the desktop, §9.3). */
export type PromptAnswer =
  | {
      kind: 'approval';
      decision: 'allow' | 'deny';
      message?: string;
      /** Set on allow: `session` = for the rest of this agent session (protocol §9.2a). */
      scope?: ApprovalScope;
      /** The rules granted with `scope: session`. */
      rules?: string[];
      /** Why a session answer became `once` (the agent offered nothing to remember). */
      scope_note?: string;
    }
  /** Keyed by the full question text; the value is a label, labels joined with ", ", or free text. */
  | { kind: 'ask_user_question'; answers: Record<string, string> }
  | { kind: 'text'; text: string };

export interface TurnUsage {
  input_tokens: number;
  input_tokens_cached: number;
  output_tokens: number;
  duration_ms: number;
  cost_usd?: number;
  stop_reason?: string | null;
  /** True when the turn ended in an error (API error, interrupted, failed). */
  is_error?: boolean;
  /** `completed` | `interrupted` | `failed` | the agent's own subtype. */
  outcome?: string;
}

export type AgentEvent =
  | { type: 'session'; sessionId: string }
  | { type: 'text'; text: string }
  | { type: 'thinking'; text: string }
  | { type: 'tool_call'; name: string; invocationId: string; input: unknown }
  | { type: 'tool_result'; invocationId: string; output: string; isError: boolean }
  | { type: 'status'; status: string; detail?: string }
  | { type: 'turn_end'; usage: TurnUsage }
  | { type: 'prompt'; prompt: AgentPrompt }
  /** A prompt the agent withdrew itself (e.g. Claude `control_cancel_request`). */
  | { type: 'prompt_cancelled'; promptId: string; reason: string }
  | { type: 'exit'; code: number | null; signal: string | null; lastStderrLine: string | null; expected: boolean };

export type AgentEventListener = (event: AgentEvent) => void;

export interface AgentSession {
  readonly type: AgentType;
  /** Known after `start()` resolves (fresh Claude: the generated UUID; Codex: the thread id). */
  readonly sessionId: string | null;
  readonly pid: number | undefined;
  /** True while a turn runs (between sendTurn and its turn_end). */
  readonly busy: boolean;
  onEvent(listener: AgentEventListener): () => void;
  /**
   * Spawns the process and completes the handshake. Rejects with a WorkerError:
   * `AGENT_CRASHED` when the process exits during start (e.g. unknown resume id), with the exit code and the
   * last stderr line in the message.
   */
  start(): Promise<void>;
  /** Starts a turn with this user text (queued by the agent if a turn is running). */
  sendTurn(text: string): Promise<void>;
  /** Hands a structured answer to the open prompt with this id. */
  answerPrompt(promptId: string, answer: PromptAnswer): Promise<void>;
  /** Interrupts the running turn, if any; the agent stays usable. */
  interrupt(): Promise<void>;
  /**
   * Stops the agent: close stdin, SIGTERM the process group after `graceMs` (default 10 s), SIGKILL after
   * `killMs` more (default 5 s). Resolves when the whole tree is gone. The `exit` event has `expected: true`.
   */
  stop(options?: { graceMs?: number; killMs?: number }): Promise<void>;
}

export type AgentFactory = (type: AgentType, options: AgentStartOptions) => AgentSession;
