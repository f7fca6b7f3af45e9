/**
 * Prompts as people see them in the thread: the `pending_prompt` brief, the parsing of a plain-text reply
 * into a structured answer (decisions §9.2), and a one-line description of an answer for
 * `pending_prompt_resolved`.
 */
import type { AgentPrompt, PromptAnswer, PromptQuestion } from './types';
import { summarizeToolInput } from './tool-summary';

export { summarizeToolInput };

export const DEFAULT_DENY_MESSAGE = 'Denied by the user';

const ALLOW_WORDS = new Set(['y', 'yes', 'approve', 'approved', 'allow', 'ok', '1']);
const DENY_WORDS = new Set(['n', 'no', 'deny', 'denied', 'reject', '2']);

function optionLines(q: PromptQuestion): string[] {
  return q.options.map((o, i) => `  ${i + 1}. ${o.label}${o.description ? ` — ${o.description}` : ''}`);
}

/** The `pending_prompt` brief (content[0].text), in the style of session-agent-harness.md §10.1. */
export function formatPromptBrief(prompt: AgentPrompt): string {
  switch (prompt.kind) {
    case 'approval': {
      const summary = summarizeToolInput(prompt.tool.name, prompt.tool.input);
      const lines = [`❓ Approval needed: ${prompt.tool.name}${summary ? ` → ${summary}` : ''}`];
      if (prompt.reason) lines.push(prompt.reason);
      lines.push('Reply yes to allow, no to deny, or write why to deny with a message.');
      return lines.join('\n');
    }
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
    case 'approval': {
      const word = raw.toLowerCase();
      if (ALLOW_WORDS.has(word)) return { kind: 'approval', decision: 'allow' };
      if (DENY_WORDS.has(word) || !raw) return { kind: 'approval', decision: 'deny', message: DEFAULT_DENY_MESSAGE };
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

function clip(text: string, max = 200): string {
  const one = text.replace(/\s*\n\s*/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}

/** A one-line human description of an answer (for `pending_prompt_resolved` and the desktop). */
export function describeAnswer(prompt: AgentPrompt, answer: PromptAnswer): string {
  switch (answer.kind) {
    case 'approval':
      if (answer.decision === 'allow') return 'Allowed';
      return answer.message && answer.message !== DEFAULT_DENY_MESSAGE ? `Denied: ${clip(answer.message)}` : 'Denied';
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
