/**
 * Answering an open prompt from the terminal dashboard (`a`): the prompt's payload (protocol §9.1) becomes a
 * small form, keys edit it, and a finished form is the structured PromptAnswer that `WorkerHost.answerPrompt`
 * takes (protocol §9.3, `answered_via: desktop`). Pure: no ink, no I/O.
 *
 * - approval: `1`/`y` allow once, `2`/`a` allow for this session (protocol §9.2a; the rules it grants are
 *   shown when the agent offered some), `3`/`n` deny — then an optional message, Enter sends.
 * - plan (Claude's ExitPlanMode): the plan's first lines, `1`/`y` approve, `3`/`n` deny with a message.
 * - ask_user_question: one question at a time; a number, several numbers for multi-select (`1,3`), an option
 *   label, or free text (the same reading as a thread reply, protocol §9.2), then Enter.
 * - text: free text, then Enter.
 * Esc cancels the form without answering.
 */
import { z } from 'zod';
import type { AgentPrompt, ApprovalScope, PromptAnswer, PromptQuestion } from '../../core/agents/types';
import { DEFAULT_DENY_MESSAGE, parseThreadAnswer, summarizeToolInput } from '../../core/agents/answers';
import type { SnapshotPrompt } from '../../core/snapshot';

const Question = z.object({
  question: z.string(),
  header: z.string().nullish(),
  multi_select: z.boolean().default(false),
  options: z.array(z.object({ label: z.string(), description: z.string().nullish() })).default([]),
});

const Payload = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('approval'),
    tool: z.object({ name: z.string(), input: z.unknown().optional() }),
    reason: z.string().nullish(),
    diff_summary: z.string().nullish(),
    session_rules: z.array(z.string()).nullish(),
  }),
  z.object({
    kind: z.literal('plan'),
    plan: z.string(),
    tool: z.object({ name: z.string(), input: z.unknown().optional() }).optional(),
  }),
  z.object({ kind: z.literal('ask_user_question'), questions: z.array(Question).min(1) }),
  z.object({ kind: z.literal('text'), question: z.string() }),
]);

interface FormBase {
  promptId: string;
  sectionId: string;
  alias: string;
  /** Text typed so far (deny message, question answer, free text). */
  input: string;
}

export type AnswerForm =
  | (FormBase & {
      /** `plan` is answered like an approval, without the session choice. */
      kind: 'approval';
      plan: string | null;
      tool: string;
      summary: string;
      /** Reason and diff summary lines, as the agent gave them. */
      details: string[];
      allowSession: boolean;
      /** What "for this session" grants (`Tool(content)` rules); empty = the agent offered none. */
      sessionRules: string[];
      stage: 'choose' | 'deny_message';
    })
  | (FormBase & {
      kind: 'ask_user_question';
      questions: PromptQuestion[];
      index: number;
      answers: Record<string, string>;
    })
  | (FormBase & { kind: 'text'; question: string });

/** The subset of ink's key flags the forms read. */
export interface FormKey {
  input: string;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
}

export type FormStep =
  | { type: 'editing'; form: AnswerForm; hint?: string }
  | { type: 'cancelled' }
  | { type: 'answer'; form: AnswerForm; answer: PromptAnswer; description: string };

/**
 * The form for an open prompt, or an error text when the payload is not one the dashboard can show (the
 * prompt can still be answered in the BlobHub thread).
 */
export function openAnswerForm(
  prompt: SnapshotPrompt,
  sectionId: string,
  options: { allowSession: boolean },
): AnswerForm | { error: string } {
  const parsed = Payload.safeParse({ ...prompt.payload, kind: prompt.payload.kind ?? prompt.kind });
  if (!parsed.success)
    return { error: `prompt ${prompt.id} has a payload the dashboard cannot read; answer it in the thread` };
  const base: FormBase = { promptId: prompt.id, sectionId, alias: prompt.thread, input: '' };
  const p = parsed.data;
  switch (p.kind) {
    case 'approval':
      return {
        ...base,
        kind: 'approval',
        plan: null,
        tool: p.tool.name,
        summary: summarizeToolInput(p.tool.name, p.tool.input),
        details: [p.reason, ...(p.diff_summary ?? '').split('\n')].filter((l): l is string => !!l && !!l.trim()),
        allowSession: options.allowSession,
        sessionRules: p.session_rules ?? [],
        stage: 'choose',
      };
    case 'plan':
      return {
        ...base,
        kind: 'approval',
        plan: p.plan,
        tool: p.tool?.name ?? 'ExitPlanMode',
        summary: '',
        details: [],
        allowSession: false,
        sessionRules: [],
        stage: 'choose',
      };
    case 'ask_user_question':
      return {
        ...base,
        kind: 'ask_user_question',
        questions: p.questions.map((q) => ({
          question: q.question,
          ...(q.header ? { header: q.header } : {}),
          multi_select: q.multi_select,
          options: q.options.map((o) => ({ label: o.label, ...(o.description ? { description: o.description } : {}) })),
        })),
        index: 0,
        answers: {},
      };
    case 'text':
      return { ...base, kind: 'text', question: p.question };
  }
}

/** Typing into the form's input: printable characters append, Backspace/Delete remove the last character. */
function edit(input: string, key: FormKey): string | null {
  if (key.backspace || key.delete) return Array.from(input).slice(0, -1).join('');
  if (key.ctrl || key.meta || key.return || key.escape) return null;
  // A paste arrives as one chunk; control characters (and a pasted newline) are dropped.
  const printable = Array.from(key.input)
    .filter((c) => c >= ' ' && c !== '\u007f')
    .join('');
  return printable ? input + printable : null;
}

/** One question's answer typed as text: read like a thread reply to that question alone (protocol §9.2). */
export function readQuestionAnswer(q: PromptQuestion, typed: string): string {
  const single: AgentPrompt = { id: 'pr_form', kind: 'ask_user_question', questions: [q] };
  const answer = parseThreadAnswer(single, typed);
  return answer.kind === 'ask_user_question' ? (answer.answers[q.question] ?? typed.trim()) : typed.trim();
}

function allowAnswer(scope: ApprovalScope): PromptAnswer {
  return { kind: 'approval', decision: 'allow', scope };
}

/** Applies one key to the form. */
export function formKey(form: AnswerForm, key: FormKey): FormStep {
  if (key.escape) {
    // Esc in the deny message goes back to the choice; anywhere else it closes the form.
    if (form.kind === 'approval' && form.stage === 'deny_message') {
      return { type: 'editing', form: { ...form, stage: 'choose', input: '' } };
    }
    return { type: 'cancelled' };
  }
  switch (form.kind) {
    case 'approval': {
      if (form.stage === 'choose') {
        const c = key.input.toLowerCase();
        if (c === '1' || c === 'y') {
          const description = form.plan === null ? 'allowed once' : 'plan approved';
          return { type: 'answer', form, answer: allowAnswer('once'), description };
        }
        if ((c === '2' || c === 'a') && form.allowSession) {
          return { type: 'answer', form, answer: allowAnswer('session'), description: 'allowed for this session' };
        }
        if (c === '3' || c === 'n') return { type: 'editing', form: { ...form, stage: 'deny_message', input: '' } };
        return {
          type: 'editing',
          form,
          hint: form.allowSession ? 'press 1, 2 or 3 (Esc cancels)' : 'press 1 or 3 (Esc cancels)',
        };
      }
      if (key.return) {
        const message = form.input.trim() || DEFAULT_DENY_MESSAGE;
        return {
          type: 'answer',
          form,
          answer: { kind: 'approval', decision: 'deny', message },
          description: form.input.trim() ? `denied: ${form.input.trim()}` : 'denied',
        };
      }
      const next = edit(form.input, key);
      return { type: 'editing', form: next === null ? form : { ...form, input: next } };
    }
    case 'ask_user_question': {
      if (key.return) {
        const q = form.questions[form.index];
        if (!form.input.trim()) return { type: 'editing', form, hint: 'type a number, an option or text, then Enter' };
        const answers = { ...form.answers, [q.question]: readQuestionAnswer(q, form.input) };
        if (form.index + 1 < form.questions.length) {
          return { type: 'editing', form: { ...form, answers, index: form.index + 1, input: '' } };
        }
        const description = Object.values(answers).join('; ');
        return {
          type: 'answer',
          form: { ...form, answers },
          answer: { kind: 'ask_user_question', answers },
          description,
        };
      }
      const next = edit(form.input, key);
      return { type: 'editing', form: next === null ? form : { ...form, input: next } };
    }
    case 'text': {
      if (key.return) {
        if (!form.input.trim()) return { type: 'editing', form, hint: 'type an answer, then Enter' };
        return {
          type: 'answer',
          form,
          answer: { kind: 'text', text: form.input.trim() },
          description: form.input.trim(),
        };
      }
      const next = edit(form.input, key);
      return { type: 'editing', form: next === null ? form : { ...form, input: next } };
    }
  }
}

/** The lines the answer box shows for a form (title first), for a box `width` columns wide. */
export function formLines(form: AnswerForm): { title: string; body: string[]; input: string | null; keys: string } {
  switch (form.kind) {
    case 'approval': {
      const body =
        form.plan === null
          ? [`${form.tool}${form.summary ? ` → ${form.summary}` : ''}`, ...form.details]
          : form.plan.split('\n').filter((l) => l.trim());
      const what = form.plan === null ? 'approval needed' : 'plan to approve';
      if (form.stage === 'choose') {
        const choices = [form.plan === null ? '1  allow once' : '1  approve the plan'];
        if (form.allowSession) {
          const rules = form.sessionRules.length ? ` (${form.sessionRules.join(', ')})` : '';
          choices.push(`2  allow for this session${rules}`);
        }
        choices.push('3  deny (with an optional message)');
        // The choices come first so they stay visible in a short box; the details follow.
        return {
          title: `${what} · ${form.alias}`,
          body: [body[0] ?? '', ...choices, ...body.slice(1)],
          input: null,
          keys: 'number to choose · Esc cancel',
        };
      }
      return {
        title: `deny · ${form.alias}`,
        body: [body[0] ?? '', 'Message for the agent (optional):'],
        input: form.input,
        keys: 'Enter deny · Esc back',
      };
    }
    case 'ask_user_question': {
      const q = form.questions[form.index];
      const of = form.questions.length > 1 ? ` (${form.index + 1}/${form.questions.length})` : '';
      const body = [
        `${q.header ? `${q.header}: ` : ''}${q.question}${of}`,
        ...q.options.map((o, i) => `${i + 1}  ${o.label}${o.description ? ` — ${o.description}` : ''}`),
      ];
      const how =
        q.options.length === 0
          ? 'text'
          : q.multi_select
            ? 'numbers (1,3), labels or text'
            : 'a number, a label or text';
      return { title: `question · ${form.alias}`, body, input: form.input, keys: `${how} · Enter send · Esc cancel` };
    }
    case 'text':
      return {
        title: `input needed · ${form.alias}`,
        body: [form.question],
        input: form.input,
        keys: 'Enter send · Esc cancel',
      };
  }
}
