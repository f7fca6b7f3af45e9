/**
 * The agent layer's public surface: the factory the harness calls, process helpers, thread.log, and the
 * prompt text helpers (brief, reply parsing, answer description).
 */
import { WorkerError } from '../errors';
import { ClaudeSession } from './claude';
import { CodexSession } from './codex';
import type { AgentFactory } from './types';

export const createAgentSession: AgentFactory = (type, options) => {
  switch (type) {
    case 'claude_code':
      return new ClaudeSession(options);
    case 'codex':
      return new CodexSession(options);
    default:
      throw new WorkerError('AGENT_TYPE_UNSUPPORTED', `Unsupported agent type: ${String(type)}`);
  }
};

export { resolveExecutable } from './process';
export { ThreadLog, type ThreadLogRecord } from './thread-log';
export {
  parseThreadAnswer,
  formatPromptBrief,
  describeAnswer,
  summarizeToolInput,
  DEFAULT_DENY_MESSAGE,
} from './answers';
export { CODEX_TOOLS } from './codex-events';
export type * from './types';
