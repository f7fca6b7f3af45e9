/**
 * `npm run demo`'s readable timeline: one line per sandbox activity, and the checklist of flows the demo must
 * show (handoff, the approval and the two-question prompt answered from the desktop, the failure and its
 * reset, the human reply reaching the agent). Pure functions over `SandboxActivity`, so they are testable.
 */
import type { SandboxActivity } from './index';
import { DOCS_THREAD, LOGIN_THREAD } from './scenario';

const oneLine = (text: string, max = 96): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
};

const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));

function describeAnswer(a: Extract<SandboxActivity, { type: 'answered' }>['answer']): string {
  if (a.kind === 'approval') return a.decision === 'allow' ? 'Allow' : `Deny${a.message ? ` (${a.message})` : ''}`;
  if (a.kind === 'text') return JSON.stringify(a.text);
  return Object.entries(a.answers)
    .map(([q, v], i) => `${i + 1}) ${oneLine(q, 40)} → ${v}`)
    .join('; ');
}

/** `  +3.4s  fix-login    worker  tool_call         Bash → npm test -- login` */
export function formatActivity(a: SandboxActivity): string {
  const time = pad(`+${(a.at / 1000).toFixed(1)}s`, 7);
  const where = pad(a.alias ?? 'sandbox', 12);
  switch (a.type) {
    case 'item': {
      const via = typeof a.metadata.answered_via === 'string' ? ` [answered_via: ${a.metadata.answered_via}]` : '';
      return `  ${time} ${where} ${pad(a.by === 'worker' ? 'worker' : 'human', 7)} ${pad(a.kind, 26)} ${oneLine(a.brief)}${via}`;
    }
    case 'state':
      return `  ${time} ${where} ${pad('state', 7)} instance.state → ${a.state}`;
    case 'answered':
      return `  ${time} ${where} ${pad('desktop', 7)} ${pad(`answered ${a.promptKind}`, 26)} ${describeAnswer(a.answer)}`;
    case 'note':
      return `  ${time} ${where} ${pad('sandbox', 7)} ${a.text}`;
  }
}

export const FLOWS = [
  ['handoff', `${LOGIN_THREAD.alias} handed off: pending → active`],
  ['approval', 'an approval answered from the desktop (answered_via: desktop)'],
  ['questions', 'a two-question ask_user_question answered from the desktop'],
  ['failure', `${DOCS_THREAD.alias} failed with WORK_FOLDER_NOT_FOUND`],
  ['reset', `${DOCS_THREAD.alias} reset to pending → active, its turn ran`],
  ['reply', "the demo human's reply reached the agent (its next turn answered it)"],
] as const;
export type Flow = (typeof FLOWS)[number][0];

/** Follows the activities and says which flows have been seen. */
export class DemoProgress {
  private readonly seen = new Set<Flow>();
  private readonly stateSeq = new Map<string, string[]>();
  private replyPosted = false;
  private replyAnswered = false;

  observe(a: SandboxActivity): void {
    if (a.type === 'state') {
      const seq = this.stateSeq.get(a.alias) ?? [];
      seq.push(a.state);
      this.stateSeq.set(a.alias, seq);
      if (a.alias === LOGIN_THREAD.alias && a.state === 'active' && seq.includes('pending')) this.seen.add('handoff');
      return;
    }
    if (a.type !== 'item') return;
    const m = a.metadata;
    if (a.kind === 'pending_prompt_resolved' && m.answered_via === 'desktop' && m.resolution === 'answered') {
      const kind = (m.answer as { kind?: unknown } | undefined)?.kind;
      if (kind === 'approval') this.seen.add('approval');
      const answers = (m.answer as { answers?: Record<string, unknown> } | undefined)?.answers;
      if (kind === 'ask_user_question' && answers && Object.keys(answers).length >= 2) this.seen.add('questions');
    }
    if (
      a.kind === 'thread_failed' &&
      m.alias === DOCS_THREAD.alias &&
      (m.error as { code?: unknown } | undefined)?.code === 'WORK_FOLDER_NOT_FOUND'
    ) {
      this.seen.add('failure');
    }
    if (a.alias === DOCS_THREAD.alias && a.kind === 'turn_end' && this.seen.has('failure')) {
      const seq = this.stateSeq.get(DOCS_THREAD.alias) ?? [];
      if (seq.lastIndexOf('active') > seq.indexOf('failed')) this.seen.add('reset');
    }
    if (a.alias === LOGIN_THREAD.alias && a.by === 'human' && a.brief === LOGIN_THREAD.reply) this.replyPosted = true;
    // The scripted agent only plays its CHANGELOG turn when the reply's text reached it; seen once that turn ends.
    if (a.alias === LOGIN_THREAD.alias && this.replyPosted && a.kind === 'text' && a.brief.includes('CHANGELOG'))
      this.replyAnswered = true;
    if (a.alias === LOGIN_THREAD.alias && this.replyAnswered && a.kind === 'turn_end') this.seen.add('reply');
  }

  has(flow: Flow): boolean {
    return this.seen.has(flow);
  }

  get done(): boolean {
    return FLOWS.every(([f]) => this.seen.has(f));
  }

  missing(): Flow[] {
    return FLOWS.filter(([f]) => !this.seen.has(f)).map(([f]) => f);
  }

  summary(): string[] {
    return FLOWS.map(([f, text]) => `  ${this.seen.has(f) ? '✓' : '✗'} ${text}`);
  }
}
