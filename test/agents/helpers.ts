/**
 * Test support for the agent adapters: run a real adapter against a fake agent (a child process) with a
 * scenario, collect its events, read what the fake recorded, and wait for things with bounded timeouts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgentSession } from '../../main/core/agents/index';
import { processLive } from '../../main/core/agents/process';
import type { AgentEvent, AgentSession, AgentStartOptions } from '../../main/core/agents/types';
import type { AgentType, PermissionMode } from '../../main/core/state/schemas';
import { FAKES, tempDir, waitFor } from '../support/process';

export const FAKE = { claude_code: join(FAKES, 'claude'), codex: join(FAKES, 'codex') } as const;

export interface Harness {
  session: AgentSession;
  events: AgentEvent[];
  dir: string;
  logFile: string;
  stateDir: string;
  /** Waits for the n-th (default first) event matching `pred` (bounded). */
  next<T extends AgentEvent['type']>(
    type: T,
    pred?: (e: Extract<AgentEvent, { type: T }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<AgentEvent, { type: T }>>;
  /** Everything the fake recorded (argv, stdin lines, tool runs, grandchild pids). */
  recorded(): Array<Record<string, unknown>>;
  stdinLines(): unknown[];
  cleanup(): Promise<void>;
}

export interface HarnessOptions {
  permissions?: PermissionMode;
  scenario?: unknown;
  resumeSessionId?: string | null;
  newSessionId?: string | null;
  model?: string | null;
  effort?: string | null;
  /** Reuse another harness's state dir (resume across processes). */
  stateDir?: string;
  extra?: Partial<AgentStartOptions>;
}

export async function makeHarness(type: AgentType, o: HarnessOptions = {}): Promise<Harness> {
  const tmp = await tempDir('bhw-agent-');
  const dir = tmp.path;
  const scenarioFile = join(dir, 'scenario.json');
  writeFileSync(scenarioFile, JSON.stringify(o.scenario ?? {}));
  const recordFile = join(dir, 'record.jsonl');
  const stateDir = o.stateDir ?? join(dir, 'state');
  const logFile = join(dir, 'logs', 'thread.log');
  const session = createAgentSession(type, {
    executable: FAKE[type],
    cwd: dir,
    permissions: o.permissions ?? 'approval',
    model: o.model ?? null,
    effort: o.effort ?? null,
    resumeSessionId: o.resumeSessionId ?? null,
    newSessionId: o.newSessionId ?? null,
    logFile,
    startTimeoutMs: 10_000,
    env: {
      ...process.env,
      FAKE_AGENT_SCENARIO: scenarioFile,
      FAKE_AGENT_RECORD: recordFile,
      FAKE_AGENT_STATE_DIR: stateDir,
    },
    ...o.extra,
  });
  const events: AgentEvent[] = [];
  session.onEvent((e) => events.push(e));
  const recorded = (): Array<Record<string, unknown>> =>
    existsSync(recordFile)
      ? readFileSync(recordFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  return {
    session,
    events,
    dir,
    logFile,
    stateDir,
    async next(type, pred = () => true, timeoutMs = 10_000) {
      return waitFor(() => events.find((e) => e.type === type && pred(e as never)) as never, `a ${type} event`, {
        timeoutMs,
      });
    },
    recorded,
    stdinLines: () =>
      recorded()
        .filter((r) => r.kind === 'stdin')
        .map((r) => JSON.parse(String(r.line))),
    async cleanup() {
      await session.stop({ graceMs: 200, killMs: 1_000 });
      await tmp.cleanup();
    },
  };
}

/** Event types in order, for compact sequence assertions. */
export const kinds = (events: AgentEvent[]): string[] => events.map((e) => e.type);

/** Alive and not a zombie (a non-reaping PID 1 in containers leaves killed orphans as zombies). */
export const processAlive = (pid: number): boolean => processLive(pid);
