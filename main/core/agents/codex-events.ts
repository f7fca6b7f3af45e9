/**
 * Codex app-server messages → agent events and prompts, as pure functions (no session state, no I/O). The
 * adapter (codex.ts) owns what depends on the session: the JSON-RPC ids, the active turn, usage, open prompts
 * and the fileChange diffs an approval request refers to.
 */
import { codexChangesDiff } from './diff';
import { newPromptId } from '../ids';
import { isSkipped, type Mapped, type Skipped } from './mapped';
import type { AgentEvent, AgentPrompt } from './types';
import {
  CommandApproval,
  CommandItem,
  FileApproval,
  FileChangeItem,
  Item,
  ItemParams,
  LegacyExecApproval,
  LegacyPatchApproval,
  McpItem,
  TextList,
  UserInputRequest,
  type CodexChange,
  type CodexWire,
} from './codex-wire';

export { isSkipped, type Mapped, type Skipped };

/** Tool names the Codex adapter reports in tool_call events and approval prompts. */
export const CODEX_TOOLS = { command: 'commandExecution', fileChange: 'fileChange' } as const;

/** One file of a fileChange item as the worker reports it. */
export interface FileChangeSummary {
  path: string;
  kind: string;
  diff?: string;
}

function kindText(kind: CodexChange['kind']): string {
  if (!kind) return 'update';
  return typeof kind === 'string' ? kind : kind.type;
}

function joinTexts(list: unknown[]): string {
  return list
    .map((x) => (typeof x === 'string' ? x : x && typeof x === 'object' && 'text' in x ? String(x.text) : ''))
    .filter(Boolean)
    .join('\n');
}

function mcpResultText(result: unknown): string {
  if (result === undefined || result === null) return '';
  const content = (result as { content?: unknown }).content;
  if (Array.isArray(content)) return joinTexts(content);
  return JSON.stringify(result);
}

/** The events of an item notification, plus the fileChange files (the adapter keeps them for approvals). */
export interface ItemMapping {
  type: string;
  id: string;
  events: AgentEvent[];
  changes?: FileChangeSummary[];
}

/** `item/started` (started = true) and `item/completed` notifications. */
export function itemEvents(started: boolean, params: unknown): Mapped<ItemMapping> {
  const p = ItemParams.safeParse(params);
  if (!p.success) return { skip: 'malformed item notification' };
  const head = Item.safeParse(p.data.item);
  if (!head.success) return { skip: 'item without type or id' };
  const { type, id } = head.data;
  const item = p.data.item;
  const out = (events: AgentEvent[], changes?: FileChangeSummary[]): ItemMapping => ({
    type,
    id,
    events,
    ...(changes ? { changes } : {}),
  });
  switch (type) {
    case 'agentMessage': {
      const text = typeof item.text === 'string' ? item.text : '';
      return out(!started && text ? [{ type: 'text', text }] : []);
    }
    case 'reasoning': {
      if (started) return out([]);
      const text = [joinTexts(TextList.parse(item.summary)), joinTexts(TextList.parse(item.content))]
        .filter(Boolean)
        .join('\n');
      return out(text ? [{ type: 'thinking', text }] : []);
    }
    case 'commandExecution': {
      const c = CommandItem.parse(item);
      if (started) {
        return out([
          {
            type: 'tool_call',
            name: CODEX_TOOLS.command,
            invocationId: id,
            input: { command: c.command, ...(c.cwd ? { cwd: c.cwd } : {}) },
          },
        ]);
      }
      const failed =
        c.status === 'declined' || c.status === 'failed' || (typeof c.exitCode === 'number' && c.exitCode !== 0);
      const output = c.aggregatedOutput ?? (c.status === 'declined' ? 'Declined by the user' : '');
      return out([{ type: 'tool_result', invocationId: id, output, isError: failed }]);
    }
    case 'fileChange': {
      const f = FileChangeItem.parse(item);
      const changes = f.changes.map((ch) => ({
        path: ch.path,
        kind: kindText(ch.kind),
        ...(ch.diff ? { diff: ch.diff } : {}),
      }));
      if (started) {
        return out(
          [{ type: 'tool_call', name: CODEX_TOOLS.fileChange, invocationId: id, input: { changes } }],
          changes,
        );
      }
      const lines = changes.map((ch) => `${ch.kind} ${ch.path}`);
      const ok = f.status === 'completed';
      return out(
        [
          {
            type: 'tool_result',
            invocationId: id,
            output: [`${f.status ?? 'unknown'}:`, ...lines].join('\n'),
            isError: !ok,
          },
        ],
        changes,
      );
    }
    case 'mcpToolCall': {
      const t = McpItem.parse(item);
      if (started)
        return out([
          { type: 'tool_call', name: `mcp__${t.server}__${t.tool}`, invocationId: id, input: t.arguments ?? {} },
        ]);
      const isError = Boolean(t.error) || t.status === 'failed';
      return out([
        { type: 'tool_result', invocationId: id, output: t.error?.message ?? mcpResultText(t.result), isError },
      ]);
    }
    default:
      return out([]); // userMessage, webSearch, plan, ... are not bridged
  }
}

/** The `error` notification: a status event (api_retry while codex retries) and its message. */
export function errorNotificationEvent(params: unknown): { event: AgentEvent; message: string | undefined } {
  const p = params as { error?: { message?: unknown }; willRetry?: unknown } | undefined;
  const message = typeof p?.error?.message === 'string' ? p.error.message : undefined;
  return { event: { type: 'status', status: p?.willRetry === true ? 'api_retry' : 'error', detail: message }, message };
}

/**
 * What "allow for this session" grants in Codex terms (protocol §9.2a, `acceptForSession`): the exact command,
 * or the changed files. Shown to the user and kept in thread.yaml as a record; Codex cannot take them back.
 */
function codexSessionRules(name: string, input: Record<string, unknown>): string[] {
  if (name === CODEX_TOOLS.command) return typeof input.command === 'string' ? [`${name}(${input.command})`] : [];
  const changes = Array.isArray(input.changes) ? (input.changes as Array<{ path?: unknown }>) : [];
  return changes.filter((c) => typeof c.path === 'string').map((c) => `${name}(${String(c.path)})`);
}

function approval(
  name: string,
  invocationId: string,
  input: Record<string, unknown>,
  reason: string | null | undefined,
  cwd: string,
): AgentPrompt {
  const diff = name === CODEX_TOOLS.fileChange ? codexChangesDiff(input.changes, cwd) : null;
  const rules = codexSessionRules(name, input);
  return {
    id: newPromptId(),
    kind: 'approval',
    tool: { name, invocation_id: invocationId, input },
    ...(reason ? { reason } : {}),
    ...(diff ? { diff: diff.diff, diff_summary: diff.summary } : {}),
    ...(rules.length ? { session_rules: rules } : {}),
  };
}

/** What a server→client request becomes: a prompt (with how to answer it), or a method we do not serve. */
export type ServerRequestMapping = { prompt: AgentPrompt; wire: CodexWire } | { unsupported: string } | Skipped;

/**
 * Approval and requestUserInput requests → prompts. `changesOf` gives the files of a fileChange item seen
 * earlier (a v2 fileChange approval names only the item).
 */
export function serverRequestPrompt(
  id: string | number,
  method: string,
  params: unknown,
  changesOf: (itemId: string) => FileChangeSummary[] | undefined,
  cwd = '/',
): ServerRequestMapping {
  const malformed: Skipped = { skip: `malformed ${method} request` };
  switch (method) {
    case 'item/commandExecution/requestApproval': {
      const p = CommandApproval.safeParse(params ?? {});
      if (!p.success) return malformed;
      const input = { command: p.data.command ?? '', ...(p.data.cwd ? { cwd: p.data.cwd } : {}) };
      return {
        prompt: approval(CODEX_TOOLS.command, p.data.itemId, input, p.data.reason, cwd),
        wire: { requestId: id, style: 'v2' },
      };
    }
    case 'item/fileChange/requestApproval': {
      const p = FileApproval.safeParse(params ?? {});
      if (!p.success) return malformed;
      const input = { changes: changesOf(p.data.itemId) ?? [] };
      return {
        prompt: approval(CODEX_TOOLS.fileChange, p.data.itemId, input, p.data.reason, cwd),
        wire: { requestId: id, style: 'v2' },
      };
    }
    case 'execCommandApproval': {
      const p = LegacyExecApproval.safeParse(params ?? {});
      if (!p.success) return malformed;
      const command = Array.isArray(p.data.command) ? p.data.command.join(' ') : p.data.command;
      const input = { command, ...(p.data.cwd ? { cwd: p.data.cwd } : {}) };
      return {
        prompt: approval(CODEX_TOOLS.command, p.data.callId, input, p.data.reason, cwd),
        wire: { requestId: id, style: 'legacy' },
      };
    }
    case 'applyPatchApproval': {
      const p = LegacyPatchApproval.safeParse(params ?? {});
      if (!p.success) return malformed;
      const changes = Object.keys(p.data.fileChanges).map((path) => ({ path, kind: 'update' }));
      return {
        prompt: approval(CODEX_TOOLS.fileChange, p.data.callId, { changes }, p.data.reason, cwd),
        wire: { requestId: id, style: 'legacy' },
      };
    }
    case 'item/tool/requestUserInput': {
      const p = UserInputRequest.safeParse(params ?? {});
      if (!p.success) return malformed;
      const questionIds: Record<string, string> = {};
      const prompt: AgentPrompt = {
        id: newPromptId(),
        kind: 'ask_user_question',
        questions: p.data.questions.map((q) => {
          questionIds[q.question] = q.id;
          return {
            question: q.question,
            ...(q.header ? { header: q.header } : {}),
            multi_select: false,
            options: (q.options ?? []).map((o) => ({
              label: o.label,
              ...(o.description ? { description: o.description } : {}),
            })),
          };
        }),
      };
      return { prompt, wire: { requestId: id, style: 'userInput', questionIds } };
    }
    default:
      return { unsupported: method };
  }
}
