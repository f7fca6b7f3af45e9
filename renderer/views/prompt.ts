/**
 * #prompt/<id>: answers one open prompt with structured controls (protocol §9.3): approval → Allow once /
 * Allow for this session (when the agent offered a rule, protocol §9.2a) / Deny (+ optional message), with the
 * diff of a file edit; plan → the markdown plan with Approve / Keep planning (+ message); keys Y / A / N outside
 * text fields; "Stop the turn" interrupts the agent (the prompt is cancelled); ask_user_question → one control per question (radios for single select,
 * checkboxes for multi-select, plus "Other" free text), answers keyed by the full question text, several
 * labels joined with ", "; text → a textarea (an empty or blank answer is refused inline). The core posts
 * pending_prompt_resolved (answered_via desktop).
 */
import type { Snapshot, SnapshotPrompt } from '../../main/core/snapshot';
import type { PromptAnswer } from '../../main/ipc/contract';
import { api, call, errorText } from '../api';
import { h, nextId } from '../dom';
import { sectionLabel } from '../../main/display/status';
import { diffView, planView } from './prompt-parts';

interface Question {
  question: string;
  header?: string;
  multi_select: boolean;
  options: Array<{ label: string; description?: string }>;
}

function questionsOf(prompt: SnapshotPrompt): Question[] {
  const raw = Array.isArray(prompt.payload.questions) ? prompt.payload.questions : [];
  return raw.flatMap((q): Question[] => {
    if (typeof q !== 'object' || q === null) return [];
    const r = q as Record<string, unknown>;
    if (typeof r.question !== 'string') return [];
    const options = Array.isArray(r.options)
      ? r.options.flatMap((o) => {
          const or = o as Record<string, unknown> | null;
          return or && typeof or.label === 'string'
            ? [{ label: or.label, ...(typeof or.description === 'string' ? { description: or.description } : {}) }]
            : [];
        })
      : [];
    return [
      {
        question: r.question,
        ...(typeof r.header === 'string' ? { header: r.header } : {}),
        multi_select: r.multi_select === true,
        options,
      },
    ];
  });
}

export interface PromptView {
  update(snapshot: Snapshot): void;
}

export function mountPrompt(root: HTMLElement, promptId: string, snapshot: Snapshot): PromptView {
  const prompt = snapshot.prompts.find((p) => p.id === promptId);
  const status = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'prompt-error' });
  let sent = false;

  if (!prompt) {
    root.replaceChildren(
      h(
        'main',
        { class: 'prompt-view' },
        h('h1', null, 'Prompt no longer open'),
        h('p', { 'data-testid': 'prompt-gone' }, 'It was answered elsewhere or cancelled.'),
        h('button', { type: 'button', on: { click: () => void api().windowClose() } }, 'Close'),
      ),
    );
    return { update: () => undefined };
  }

  async function send(answer: PromptAnswer, form: HTMLElement): Promise<void> {
    status.replaceChildren();
    for (const el of form.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLTextAreaElement>(
      'button, input, textarea',
    ))
      el.disabled = true;
    try {
      await call(api().promptAnswer({ promptId, answer }));
      sent = true;
      root.replaceChildren(
        h(
          'main',
          { class: 'prompt-view' },
          h('h1', null, 'Answer sent'),
          h('p', { 'data-testid': 'prompt-sent' }, 'The agent continues; the thread records your answer.'),
        ),
      );
      void api().windowClose();
    } catch (e) {
      const err = errorText(e);
      status.replaceChildren(h('code', null, err.code), ' ', err.message);
      for (const el of form.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLTextAreaElement>(
        'button, input, textarea',
      ))
        el.disabled = false;
    }
  }

  const section = snapshot.sections.find((x) => x.id === prompt.section);
  const sectionName = section ? sectionLabel(section) : prompt.section;
  const heading = h(
    'header',
    null,
    h(
      'h1',
      null,
      prompt.kind === 'approval' ? 'Approval needed' : prompt.kind === 'plan' ? 'Plan approval' : 'The agent asks',
    ),
    h(
      'p',
      { class: 'muted' },
      `Thread ${prompt.thread} · section ${sectionName} `,
      h(
        'button',
        {
          type: 'button',
          class: 'small',
          'data-testid': 'stop-turn',
          title: "Stops the agent's current turn; the thread and the agent stay (like /stop in the thread)",
          on: { click: () => void stopTurn() },
        },
        'Stop the turn',
      ),
    ),
  );

  async function stopTurn(): Promise<void> {
    status.replaceChildren();
    try {
      await call(api().threadInterrupt({ sectionId: prompt!.section, alias: prompt!.thread }));
      sent = true;
      root.replaceChildren(
        h(
          'main',
          { class: 'prompt-view' },
          h('h1', null, 'Turn stopped'),
          h(
            'p',
            { 'data-testid': 'prompt-stopped' },
            'The prompt was cancelled; the agent waits for your next message.',
          ),
        ),
      );
      void api().windowClose();
    } catch (e) {
      const err = errorText(e);
      status.replaceChildren(h('code', null, err.code), ' ', err.message);
    }
  }
  let form: HTMLFormElement;

  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  /** One-key answers outside text fields (shown on the buttons). */
  const shortcuts = new Map<string, () => void>();
  const key = (letter: string) => h('kbd', { class: 'key' }, letter.toUpperCase());

  if (prompt.kind === 'approval' || prompt.kind === 'plan') {
    const isPlan = prompt.kind === 'plan';
    const tool = (prompt.payload.tool ?? {}) as { name?: unknown; input?: unknown };
    const reason = typeof prompt.payload.reason === 'string' ? prompt.payload.reason : null;
    const diff = typeof prompt.payload.diff === 'string' ? prompt.payload.diff : null;
    const summary = typeof prompt.payload.diff_summary === 'string' ? prompt.payload.diff_summary : null;
    const rules = strings(prompt.payload.session_rules);
    const messageId = nextId('approval-message');
    const message = h('textarea', {
      id: messageId,
      rows: 2,
      placeholder: isPlan
        ? 'Optional: what to change in the plan (sent with Keep planning)'
        : 'Optional: tell the agent why (sent with a denial)',
    });
    const decide = (decision: 'allow' | 'deny', scope?: 'once' | 'session') => () => {
      const text = message.value.trim();
      void send(
        {
          kind: 'approval',
          decision,
          ...(decision === 'allow' ? { scope: scope ?? 'once' } : {}),
          ...(text && decision === 'deny' ? { message: text } : {}),
        },
        form,
      );
    };
    const buttons: HTMLElement[] = [];
    if (isPlan) {
      buttons.push(
        h(
          'button',
          { type: 'button', class: 'primary', 'data-testid': 'approve-plan', on: { click: decide('allow') } },
          'Approve plan ',
          key('y'),
        ),
        h(
          'button',
          { type: 'button', 'data-testid': 'keep-planning', on: { click: decide('deny') } },
          'Keep planning ',
          key('n'),
        ),
      );
      shortcuts.set('y', decide('allow'));
      shortcuts.set('n', decide('deny'));
    } else {
      buttons.push(
        h(
          'button',
          { type: 'button', class: 'primary', 'data-testid': 'allow-once', on: { click: decide('allow', 'once') } },
          'Allow once ',
          key('y'),
        ),
      );
      shortcuts.set('y', decide('allow', 'once'));
      if (rules.length > 0) {
        buttons.push(
          h(
            'button',
            {
              type: 'button',
              'data-testid': 'allow-session',
              title: `Allows ${rules.join(', ')} until the agent session ends`,
              on: { click: decide('allow', 'session') },
            },
            'Allow for this session ',
            key('a'),
          ),
        );
        shortcuts.set('a', decide('allow', 'session'));
      }
      buttons.push(
        h(
          'button',
          { type: 'button', class: 'danger', 'data-testid': 'deny', on: { click: decide('deny') } },
          'Deny ',
          key('n'),
        ),
      );
      shortcuts.set('n', decide('deny'));
    }
    const input = h(
      'details',
      { class: 'tool-input-box', ...(diff || isPlan ? {} : { open: true }) },
      h('summary', null, 'Tool input'),
      h(
        'pre',
        { class: 'tool-input', tabindex: '0', 'aria-label': 'Tool input' },
        JSON.stringify(tool.input ?? null, null, 2),
      ),
    );
    form = h(
      'form',
      { class: `prompt ${isPlan ? 'plan-approval' : 'approval'}`, 'aria-labelledby': 'prompt-title' },
      h(
        'h2',
        { id: 'prompt-title' },
        isPlan ? 'The agent proposes this plan' : `Tool: ${typeof tool.name === 'string' ? tool.name : 'unknown'}`,
      ),
      reason ? h('p', null, reason) : null,
      isPlan ? planView(typeof prompt.payload.plan === 'string' ? prompt.payload.plan : '') : null,
      diff !== null ? diffView(diff, summary) : null,
      rules.length > 0
        ? h(
            'p',
            { class: 'muted', 'data-testid': 'session-rules' },
            'Allow for this session grants: ',
            ...rules.map((r) => h('code', { class: 'rule' }, r)),
            '. Nothing is written to the project or user settings.',
          )
        : null,
      isPlan ? null : input,
      h('div', { class: 'field' }, h('label', { for: messageId }, 'Message (optional)'), message),
      status,
      h('div', { class: 'buttons' }, ...buttons),
    );
  } else if (prompt.kind === 'ask_user_question') {
    const questions = questionsOf(prompt);
    const readers: Array<() => string> = [];
    const fieldsets = questions.map((q, qi) => {
      const name = `q${qi}`;
      const otherId = nextId('other');
      const other = h('input', {
        id: otherId,
        type: 'text',
        class: 'other-text',
        'aria-label': `Other answer to: ${q.question}`,
      });
      const choices = q.options.map((o) => {
        const id = nextId('opt');
        const descId = o.description ? `${id}-desc` : null;
        return h(
          'div',
          { class: 'choice' },
          h('input', {
            id,
            type: q.multi_select ? 'checkbox' : 'radio',
            name,
            value: o.label,
            ...(descId ? { 'aria-describedby': descId } : {}),
          }),
          h('label', { for: id }, o.label),
          o.description ? h('small', { id: descId }, o.description) : null,
        );
      });
      const otherBoxId = nextId('opt-other');
      const otherBox = h('input', {
        id: otherBoxId,
        type: q.multi_select ? 'checkbox' : 'radio',
        name,
        value: '__other__',
      });
      other.addEventListener('input', () => {
        if (other.value) otherBox.checked = true;
      });
      readers.push(() => {
        const picked = [...document.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)]
          .map((i) => (i.value === '__other__' ? other.value.trim() : i.value))
          .filter((v) => v !== '');
        return picked.join(', ');
      });
      return h(
        'fieldset',
        { class: 'question', 'data-question': String(qi) },
        h(
          'legend',
          null,
          q.header ? h('span', { class: 'badge' }, q.header) : null,
          ' ',
          q.question,
          q.multi_select ? h('span', { class: 'muted' }, ' (choose any)') : null,
        ),
        ...choices,
        h('div', { class: 'choice other' }, otherBox, h('label', { for: otherBoxId }, 'Other:'), other),
      );
    });
    form = h(
      'form',
      { class: 'prompt questions', 'aria-labelledby': 'prompt-title' },
      h('h2', { id: 'prompt-title', class: 'visually-hidden' }, 'Questions'),
      ...fieldsets,
      status,
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Send answers')),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const answers: Record<string, string> = {};
      const missing: string[] = [];
      questions.forEach((q, i) => {
        const value = readers[i]();
        if (value) answers[q.question] = value;
        else missing.push(q.question);
      });
      if (missing.length > 0) {
        status.replaceChildren(`Answer every question (missing: ${missing.join('; ')}).`);
        return;
      }
      void send({ kind: 'ask_user_question', answers }, form);
    });
  } else {
    const id = nextId('text-answer');
    // `novalidate`: an empty answer gets the inline message below (as in the other views), not a browser bubble.
    const text = h('textarea', { id, rows: 6, required: true, 'aria-describedby': 'prompt-error' });
    status.id = 'prompt-error';
    form = h(
      'form',
      { class: 'prompt text', 'aria-labelledby': 'prompt-title', novalidate: true },
      h(
        'h2',
        { id: 'prompt-title' },
        typeof prompt.payload.question === 'string' ? prompt.payload.question : 'Your answer',
      ),
      h('div', { class: 'field' }, h('label', { for: id }, 'Answer'), text),
      status,
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Send')),
    );
    text.addEventListener('input', () => {
      text.removeAttribute('aria-invalid');
      status.replaceChildren();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!text.value.trim()) {
        text.setAttribute('aria-invalid', 'true');
        status.replaceChildren('Write an answer first: the agent waits for your text (an empty answer is not sent).');
        text.focus();
        return;
      }
      void send({ kind: 'text', text: text.value }, form);
    });
  }

  // A stale "answer every question" message goes away as soon as the user changes something.
  form.addEventListener('change', () => status.replaceChildren());
  document.addEventListener('keydown', (event) => {
    const target = event.target as HTMLElement | null;
    if (sent || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (target && (target.tagName === 'TEXTAREA' || target.tagName === 'INPUT')) return;
    const action = shortcuts.get(event.key.toLowerCase());
    if (!action) return;
    event.preventDefault();
    action();
  });
  root.replaceChildren(h('main', { class: 'prompt-view' }, heading, form));
  return {
    update(next) {
      // Not re-rendered (that would lose the user's input); only told when the prompt went away.
      if (!sent && !next.prompts.some((p) => p.id === promptId) && !root.querySelector('[data-testid="prompt-gone"]')) {
        root
          .querySelector('main')
          ?.append(
            h(
              'p',
              { class: 'form-error', role: 'alert', 'data-testid': 'prompt-gone' },
              'This prompt is no longer open (answered elsewhere or cancelled).',
            ),
          );
      }
    },
  };
}
