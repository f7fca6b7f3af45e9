/**
 * What both adapters share: the event fan-out, open-prompt bookkeeping, request/response correlation, the
 * process lifecycle (start with a bounded handshake, exit reporting, stop) and JSON line intake.
 * Subclasses only speak their wire protocol (`handshake`, `handleMessage`, `deliverAnswer`).
 */
import { WorkerError } from '../errors';
import { silentLogger, type Logger } from '../log';
import type { AgentType } from '../state/schemas';
import { parseThreadAnswer } from './answers';
import { AgentProcess, type ExitInfo } from './process';
import { ThreadLog } from './thread-log';
import { sleep } from '../api/retry';
import type {
  AgentEvent,
  AgentEventListener,
  AgentPrompt,
  AgentSession,
  AgentStartOptions,
  PromptAnswer,
} from './types';

/** Correlates our requests with the agent's responses (Claude control requests, Codex JSON-RPC). */
export class PendingRequests {
  private readonly waiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  track(id: string | number): Promise<unknown> {
    return new Promise((resolve, reject) => this.waiting.set(String(id), { resolve, reject }));
  }

  /** False when nobody waits for this id (a stray or duplicate response). */
  settle(id: string | number, outcome: { ok: true; value: unknown } | { ok: false; error: Error }): boolean {
    const entry = this.waiting.get(String(id));
    if (!entry) return false;
    this.waiting.delete(String(id));
    if (outcome.ok) entry.resolve(outcome.value);
    else entry.reject(outcome.error);
    return true;
  }

  rejectAll(error: Error): void {
    for (const entry of this.waiting.values()) entry.reject(error);
    this.waiting.clear();
  }
}

/** An open prompt plus whatever the adapter needs to answer it on the wire. */
export interface OpenPrompt<W> {
  prompt: AgentPrompt;
  wire: W;
}

/** Any answer kind is accepted: a plain-text answer is parsed with the thread rules of protocol §9.2. */
export function coerceAnswer(prompt: AgentPrompt, answer: PromptAnswer): PromptAnswer {
  if (answer.kind === 'text' && prompt.kind !== 'text') return parseThreadAnswer(prompt, answer.text);
  return answer;
}

export abstract class BaseAgentSession<W> implements AgentSession {
  abstract readonly type: AgentType;
  protected proc: AgentProcess | null = null;
  protected readonly log: ThreadLog;
  protected readonly logger: Logger;
  protected currentSessionId: string | null = null;
  protected readonly pending = new PendingRequests();
  protected readonly prompts = new Map<string, OpenPrompt<W>>();
  /** Until `start()` resolves, an exit is reported by its rejection, not by an `exit` event. */
  protected started = false;
  private readonly listeners = new Set<AgentEventListener>();
  private readonly ownsLog: boolean;
  /** Test hook: when set, wire messages go here instead of to a process (fixture replay). */
  private writeHook: ((msg: unknown) => void) | null = null;

  constructor(protected readonly options: AgentStartOptions) {
    this.ownsLog = !options.threadLog;
    this.log = options.threadLog ?? new ThreadLog(options.logFile);
    this.logger = options.logger ?? silentLogger;
  }

  get sessionId(): string | null {
    return this.currentSessionId;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  abstract get busy(): boolean;

  /** Program arguments (without the executable). */
  protected abstract args(): string[];
  /** Completes the protocol handshake; sets the session id. */
  protected abstract handshake(): Promise<void>;
  /** One parsed stdout JSON value. Must never throw on odd input. */
  protected abstract handleMessage(msg: Record<string, unknown>): void;
  /** Puts an answer for an open prompt on the wire. */
  protected abstract deliverAnswer(open: OpenPrompt<W>, answer: PromptAnswer): void;
  protected abstract readonly displayName: string;
  abstract sendTurn(text: string): Promise<void>;
  abstract interrupt(): Promise<void>;

  onEvent(listener: AgentEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(raw: AgentEvent): void {
    const event = clampEventDepth(raw);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (e) {
        this.logger.error('agent_listener_failed', e instanceof Error ? e.message : String(e));
      }
    }
  }

  protected setSessionId(id: string): void {
    if (id === this.currentSessionId) return;
    this.currentSessionId = id;
    this.emit({ type: 'session', sessionId: id });
  }

  protected write(msg: unknown): boolean {
    if (this.writeHook) {
      this.writeHook(msg);
      return true;
    }
    return this.proc?.writeLine(msg) ?? false;
  }

  /** Test hook for fixture replay: no process, writes go to `onWrite`, stdout lines come via `handleLine`. */
  attachReplay(onWrite: (msg: unknown) => void, started = true): void {
    this.writeHook = onWrite;
    this.started = started;
  }

  /** One stdout line of the agent. Non-JSON and non-object lines are logged and skipped. */
  handleLine(line: string): void {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.skip('not JSON', line);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.skip('not a JSON object', line);
      return;
    }
    try {
      this.handleMessage(value as Record<string, unknown>);
    } catch (e) {
      // A parser bug on one odd line must not take the thread down.
      this.skip(`handler failed: ${e instanceof Error ? e.message : String(e)}`, line);
    }
  }

  protected skip(reason: string, line?: string): void {
    const preview = line === undefined ? undefined : line.length > 200 ? line.slice(0, 200) + '…' : line;
    this.log.append({ src: 'worker', event: 'agent_line_skipped', reason });
    this.logger.warn('agent_line_skipped', `${this.displayName}: skipped a stdout line (${reason})`, { preview });
  }

  protected openPrompt(prompt: AgentPrompt, wire: W): void {
    this.prompts.set(prompt.id, { prompt, wire });
    this.emit({ type: 'prompt', prompt });
  }

  protected cancelPrompts(reason: string, filter: (open: OpenPrompt<W>) => boolean = () => true): void {
    for (const [id, open] of [...this.prompts]) {
      if (!filter(open)) continue;
      this.prompts.delete(id);
      this.emit({ type: 'prompt_cancelled', promptId: id, reason });
    }
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so an unknown prompt rejects instead of throwing
  async answerPrompt(promptId: string, answer: PromptAnswer): Promise<void> {
    const open = this.prompts.get(promptId);
    if (!open) throw new WorkerError('NOT_FOUND', `No open agent prompt ${promptId} (answered or withdrawn already).`);
    this.prompts.delete(promptId);
    this.deliverAnswer(open, coerceAnswer(open.prompt, answer));
  }

  protected requireRunning(): void {
    if (!this.writeHook && !this.proc?.running) {
      throw new WorkerError('AGENT_CRASHED', `${this.displayName} is not running.`);
    }
  }

  async start(): Promise<void> {
    if (this.proc) throw new WorkerError('INTERNAL_ERROR', `${this.displayName} session already started.`);
    const { executable, cwd, env } = this.options;
    this.log.append({ src: 'worker', event: 'agent_spawn', executable, args: this.args(), cwd });
    this.proc = new AgentProcess({
      executable,
      args: this.args(),
      cwd,
      env,
      log: this.log,
      onStdoutLine: (line) => this.handleLine(line),
      onExit: (info) => this.onProcessExit(info),
    });
    const proc = this.proc;
    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const failed = (why: string): WorkerError =>
      new WorkerError('AGENT_CRASHED', `${this.displayName} failed to start: ${why}`, {
        lastStderrLine: proc.lastStderrLine,
      });
    const handshake = this.handshake();
    const exited = proc.waitExit().then((info) => {
      throw failed(this.describeExit(info));
    });
    // The losers of the race settle later; they must not become unhandled rejections.
    handshake.catch(() => undefined);
    exited.catch(() => undefined);
    try {
      await Promise.race([
        handshake,
        exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(failed(`no handshake within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      await proc.stop({ graceMs: 0, killMs: 2_000 });
      if (e instanceof WorkerError) throw e.code === 'AGENT_CRASHED' ? e : failed(e.message);
      throw failed(e instanceof Error ? e.message : String(e));
    } finally {
      clearTimeout(timer);
    }
    this.started = true;
  }

  /** "exited with code 1: <last stderr line>". */
  protected describeExit(info: ExitInfo): string {
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
    return info.lastStderrLine ? `${how}: ${info.lastStderrLine}` : how;
  }

  private onProcessExit(info: ExitInfo): void {
    this.pending.rejectAll(new WorkerError('AGENT_CRASHED', `${this.displayName} ${this.describeExit(info)}`));
    if (!info.expected) this.proc?.killTreeNow(); // orphans of a crashed agent must not keep running
    if (!this.started) return;
    this.cancelPrompts('agent_exit');
    this.onExited();
    this.emit({ type: 'exit', ...info });
  }

  /** Hook for adapters to drop turn state when the process is gone. */
  protected onExited(): void {}

  async stop(options?: { graceMs?: number; killMs?: number }): Promise<void> {
    if (this.proc) await this.proc.stop(options);
    if (this.ownsLog) this.log.close();
  }

  /** Waits for a request's response, but not forever (an interrupt must not hang the harness). */
  protected async boundedRequest(promise: Promise<unknown>, ms: number, what: string): Promise<void> {
    const outcome = await Promise.race([
      promise.then(
        () => 'ok',
        (e: unknown) => e,
      ),
      sleep(ms).then(() => 'timeout'),
    ]);
    if (outcome !== 'ok') {
      this.logger.warn(
        'agent_request_unanswered',
        `${this.displayName}: ${what} ${outcome === 'timeout' ? 'timed out' : 'failed'}`,
        {
          error: outcome instanceof Error ? outcome.message : undefined,
        },
      );
    }
  }
}

/**
 * Tool inputs are agent data of any shape; one nested thousands of levels deep overflowed the stack wherever
 * the worker serialises it (thread.yaml, the outbox), so its approval could never be posted. Events leave the
 * adapter with inputs cut at this depth (the adapter still answers the agent with the original input, and
 * thread.log keeps the full line).
 */
export const MAX_INPUT_DEPTH = 64;

export function clampDepth(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_INPUT_DEPTH)
    return `[nested deeper than ${MAX_INPUT_DEPTH} levels; the full value is in thread.log]`;
  if (Array.isArray(value)) return value.map((v) => clampDepth(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = clampDepth(v, depth + 1);
  return out;
}

function clampEventDepth(event: AgentEvent): AgentEvent {
  if (event.type === 'tool_call') return { ...event, input: clampDepth(event.input) };
  if (event.type === 'prompt' && event.prompt.kind === 'approval') {
    return {
      ...event,
      prompt: { ...event.prompt, tool: { ...event.prompt.tool, input: clampDepth(event.prompt.tool.input) } },
    };
  }
  return event;
}
