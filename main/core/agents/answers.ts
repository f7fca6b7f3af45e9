/**
 * Prompts as people see them in the thread: the `pending_prompt` brief, the parsing of a plain-text reply
 * into a structured answer (protocol §9.2, scopes §9.2a), and a one-line description of an answer for
 * `pending_prompt_resolved`.
 */
import type { AgentPrompt, PromptAnswer, PromptQuestion } from './types';
import { summarizeToolInput } from './tool-summary';

export { summarizeToolInput };

export const DEFAULT_DENY_MESSAGE = 'Denied by the user';

export const KEEP_PLANNING_MESSAGE = 'The user wants to keep planning. Do not start yet; refine the plan.';
export const SESSION_SCOPE_UNAVAILABLE =
  'The agent offered no rule to remember for this tool, so it was allowed once; it will ask again next time.';
export const PLAN_SCOPE_NOTE = 'A plan is approved once.';

const ALLOW_WORDS = new Set(['y', 'yes', 'approve', 'approved', 'allow', 'ok', '1']);
const DENY_WORDS = new Set(['n', 'no', 'deny', 'denied', 'reject', '2']);
/** Protocol §9.2a: allow for the rest of this agent session. */
const SESSION_WORDS = new Set([
  'always',
  'always allow',
  'allow always',
  'yes always',
  'a',
  'session',
  'allow for session',
]);

/** A reply word as the grammar compares it: case-folded, inner whitespace collapsed, one final `.` or `!` dropped. */
function normalizeWord(raw: string): string {
  return raw.trim().toLowerCase().replace(/[.!]$/, '').trim().replace(/\s+/g, ' ');
}

export type ApprovalWord = 'once' | 'session' | 'deny' | null;

/** The approval grammar (protocol §9.2 and §9.2a): which word class a whole reply is, or null (free text). */
export function classifyApprovalReply(replyText: string): ApprovalWord {
  const word = normalizeWord(replyText);
  if (SESSION_WORDS.has(word)) return 'session';
  if (ALLOW_WORDS.has(word)) return 'once';
  if (DENY_WORDS.has(word)) return 'deny';
  return null;
}

function optionLines(q: PromptQuestion): string[] {
  return q.options.map((o, i) => `  ${i + 1}. ${o.label}${o.description ? ` — ${o.description}` : ''}`);
}

/** The `pending_prompt` brief (content[0].text), in the style of protocol §9. */
export function formatPromptBrief(prompt: AgentPrompt): string {
  switch (prompt.kind) {
    case 'approval': {
      const summary = summarizeToolInput(prompt.tool.name, prompt.tool.input);
      const lines = [`❓ Approval needed: ${prompt.tool.name}${summary ? ` → ${summary}` : ''}`];
      if (prompt.reason) lines.push(prompt.reason);
      if (prompt.diff_summary) lines.push(prompt.diff_summary);
      if (prompt.session_rules?.length) {
        lines.push(
          `Reply yes to allow once, always to allow for this session (${prompt.session_rules.join(', ')}), ` +
            'no to deny, or write why to deny with a message.',
        );
      } else {
        lines.push('Reply yes to allow, no to deny, or write why to deny with a message.');
      }
      return lines.join('\n');
    }
    case 'plan':
      return [
        '📋 Plan approval needed:',
        prompt.plan.trim() || '(the agent sent no plan text)',
        'Reply yes to approve the plan and start, no to keep planning, or write what to change.',
      ].join('\n');
    case 'text':
      return `❓ Provide input:\n${prompt.question}\nReply with free text.`;
    case 'ask_user_question': {
      const qs = prompt.questions;
      const lines = ['❓ Provide input:'];
      if (qs.length === 1) {
        lines.push(qs[0].question, ...optionLines(qs[0]));
        if (qs[0].options.length === 0) lines.push('Reply with free text.');
        else if (qs[0].multi_select)
          lines.push('Reply with numbers or option texts separated by commas, or free text.');
        else lines.push('Reply with a number, the option text, or free text.');
        return lines.join('\n');
      }
      qs.forEach((q, i) => {
        lines.push(
          `${i + 1}) ${q.question}${q.multi_select ? ' (several allowed, separated by commas)' : ''}`,
          ...optionLines(q),
        );
      });
      lines.push('Reply with one line per question ("1) …", "2) …"), each a number, the option text, or free text.');
      return lines.join('\n');
    }
  }
}

/** One question's reply: a number or a label (several, comma-separated, for multi-select), else free text. */
function parseOneQuestion(q: PromptQuestion, reply: string): string {
  const text = reply.trim();
  const pick = (token: string): string | undefined => {
    const t = token.trim();
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      return n >= 1 && n <= q.options.length ? q.options[n - 1].label : undefined;
    }
    return q.options.find((o) => o.label.toLowerCase() === t.toLowerCase())?.label;
  };
  const single = pick(text);
  if (single !== undefined) return single;
  if (q.multi_select && text.includes(',')) {
    const picked = text.split(',').map(pick);
    if (picked.every((p): p is string => p !== undefined)) return [...new Set(picked)].join(', ');
  }
  return text;
}

/** Splits `1) …` / `2) …` lines; null unless every question 1..n has exactly one numbered line. */
function splitNumberedLines(reply: string, count: number): string[] | null {
  const answers: Array<string | undefined> = new Array<string | undefined>(count).fill(undefined);
  let current = -1;
  for (const line of reply.split(/\r?\n/)) {
    const m = /^\s*(\d+)\)\s?(.*)$/.exec(line);
    if (m) {
      const n = Number(m[1]);
      if (n < 1 || n > count || answers[n - 1] !== undefined) return null;
      current = n - 1;
      answers[current] = m[2]!;
    } else if (current >= 0) {
      answers[current] += '\n' + line; // a continuation line of a multi-line free answer
    } else if (line.trim()) {
      return null; // text before the first numbered line
    }
  }
  return answers.every((a): a is string => a !== undefined) ? answers.map((a) => a.trim()) : null;
}

/** Decisions §9.2: a thread reply (its text blocks, joined) → the structured answer handed to the agent. */
export function parseThreadAnswer(prompt: AgentPrompt, replyText: string): PromptAnswer {
  const raw = replyText.trim();
  switch (prompt.kind) {
    case 'approval':
    case 'plan': {
      const word = classifyApprovalReply(raw);
      if (word === 'session') return settleScope(prompt, { kind: 'approval', decision: 'allow', scope: 'session' });
      if (word === 'once') return { kind: 'approval', decision: 'allow', scope: 'once' };
      const denyMessage = prompt.kind === 'plan' ? KEEP_PLANNING_MESSAGE : DEFAULT_DENY_MESSAGE;
      if (word === 'deny' || !raw) return { kind: 'approval', decision: 'deny', message: denyMessage };
      return { kind: 'approval', decision: 'deny', message: raw };
    }
    case 'text':
      return { kind: 'text', text: raw };
    case 'ask_user_question': {
      const qs = prompt.questions;
      const answers: Record<string, string> = {};
      if (qs.length === 1) {
        answers[qs[0].question] = parseOneQuestion(qs[0], raw);
        return { kind: 'ask_user_question', answers };
      }
      const lines = splitNumberedLines(raw, qs.length);
      qs.forEach((q, i) => {
        answers[q.question] = lines ? parseOneQuestion(q, lines[i]) : raw;
      });
      return { kind: 'ask_user_question', answers };
    }
  }
}

/**
 * The answer as it is handed to the agent (protocol §9.2a): an allow gets its scope; a session allow carries
 * the prompt's rules, or becomes `once` with a `scope_note` when the agent offered none (and always for a
 * plan). Used for thread and desktop answers alike, so `pending_prompt_resolved` says what really happened.
 */
export function settleScope(prompt: AgentPrompt, answer: PromptAnswer): PromptAnswer {
  if (answer.kind !== 'approval') return answer;
  if (answer.decision === 'deny') {
    const { scope: _scope, rules: _rules, scope_note: _note, ...rest } = answer;
    return rest;
  }
  if (answer.scope !== 'session') {
    const { rules: _rules, scope_note: _note, ...rest } = answer;
    return { ...rest, scope: 'once' };
  }
  if (prompt.kind === 'approval' && prompt.session_rules?.length) {
    const { scope_note: _note, ...rest } = answer;
    return { ...rest, scope: 'session', rules: [...prompt.session_rules] };
  }
  const { rules: _rules, ...rest } = answer;
  return {
    ...rest,
    scope: 'once',
    scope_note: prompt.kind === 'plan' ? PLAN_SCOPE_NOTE : SESSION_SCOPE_UNAVAILABLE,
  };
}

function clip(text: string, max = 200): string {
  const one = text.replace(/\s*\n\s*/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}

/** A one-line human description of an answer (for `pending_prompt_resolved` and the desktop). */
export function describeAnswer(prompt: AgentPrompt, answer: PromptAnswer): string {
  switch (answer.kind) {
    case 'approval': {
      if (prompt.kind === 'plan') {
        if (answer.decision === 'allow') return 'Plan approved';
        return answer.message && answer.message !== KEEP_PLANNING_MESSAGE
          ? `Keep planning: ${clip(answer.message)}`
          : 'Keep planning';
      }
      if (answer.decision === 'allow') {
        if (answer.scope === 'session') return clip(`Allowed for this session: ${(answer.rules ?? []).join(', ')}`);
        return answer.scope_note ? 'Allowed once (no session rule offered)' : 'Allowed';
      }
      return answer.message && answer.message !== DEFAULT_DENY_MESSAGE ? `Denied: ${clip(answer.message)}` : 'Denied';
    }
    case 'text':
      return clip(answer.text);
    case 'ask_user_question': {
      const qs = prompt.kind === 'ask_user_question' ? prompt.questions : [];
      const entries = Object.entries(answer.answers);
      if (entries.length === 1) return clip(entries[0][1]);
      return clip(
        entries
          .map(([question, value]) => `${qs.find((q) => q.question === question)?.header ?? question}: ${value}`)
          .join('; '),
      );
    }
  }
}
