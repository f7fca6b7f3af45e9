/**
 * Key handling of the terminal dashboard as a pure reducer: (UI state, key, snapshot) → (new UI state, actions).
 * The ink shell runs the actions against the WorkerHost and reports their outcome back with `withMessage`.
 *
 * Dashboard keys (docs/cli.md "start --tui"): ↑/↓ (or k/j) select a thread across panels, PgUp/PgDn/Home/End
 * jump, Enter opens the selected thread's live transcript, `a` answers its open prompt, `r` resets a
 * failed/completed thread to pending (after a `y` confirmation), `s` stops the running turn, `q` (or Ctrl-C)
 * shuts the worker down gracefully. In the transcript: ↑/↓/PgUp/PgDn scroll, End follows, Esc/q/← go back.
 */
import type { PromptAnswer } from '../../core/agents/types';
import type { Snapshot } from '../../core/snapshot';
import { formKey, openAnswerForm, type AnswerForm, type FormKey } from './answer-form';
import { findThread, moveSelection, reconcileSelection, type ThreadKey } from './view-model';

export type Mode =
  | { kind: 'dashboard' }
  | { kind: 'confirm_reset'; key: ThreadKey }
  | { kind: 'answer'; form: AnswerForm; hint: string | null }
  | {
      kind: 'transcript';
      key: ThreadKey;
      /** Lines scrolled up from the newest; 0 = following live. */ scroll: number;
    };

export interface UiMessage {
  text: string;
  tone: 'info' | 'error';
  /** Epoch ms; the footer shows a message for MESSAGE_MS. */
  at: number;
}

export interface UiState {
  selected: ThreadKey | null;
  mode: Mode;
  message: UiMessage | null;
}

export type TuiAction =
  | { type: 'quit' }
  | { type: 'reset'; key: ThreadKey }
  | { type: 'interrupt'; key: ThreadKey }
  | { type: 'answer'; key: ThreadKey; promptId: string; answer: PromptAnswer; description: string };

/** The actions that are WorkerHost calls (everything but quitting). */
export type WorkerAction = Exclude<TuiAction, { type: 'quit' }>;

/** What the shell can do (decides which keys are offered). */
export interface Capabilities {
  interrupt: boolean;
  sessionScope: boolean;
}

export interface Key extends FormKey {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  tab?: boolean;
  shift?: boolean;
}

export const MESSAGE_MS = 6_000;
const PAGE = 5;

export function initialUiState(snapshot: Snapshot): UiState {
  return { selected: reconcileSelection(snapshot, null), mode: { kind: 'dashboard' }, message: null };
}

export function withMessage(state: UiState, text: string, tone: UiMessage['tone'], now: number): UiState {
  return { ...state, message: { text, tone, at: now } };
}

/** Keeps the selection valid after a snapshot change; closes a form whose prompt was answered elsewhere. */
export function onSnapshot(state: UiState, snapshot: Snapshot, now: number): UiState {
  const selected = reconcileSelection(snapshot, state.selected);
  let next: UiState = selected === state.selected ? state : { ...state, selected };
  const mode = state.mode;
  if (mode.kind === 'answer' && !snapshot.prompts.some((p) => p.id === mode.form.promptId)) {
    next = withMessage({ ...next, mode: { kind: 'dashboard' } }, 'the prompt was answered or withdrawn', 'info', now);
  }
  return next;
}

export interface KeyResult {
  state: UiState;
  actions: TuiAction[];
}

const none = (state: UiState): KeyResult => ({ state, actions: [] });

export function handleKey(state: UiState, key: Key, snapshot: Snapshot, caps: Capabilities, now: number): KeyResult {
  if (key.ctrl && key.input === 'c') return { state, actions: [{ type: 'quit' }] };
  const mode = state.mode;
  switch (mode.kind) {
    case 'answer': {
      const step = formKey(mode.form, key);
      if (step.type === 'cancelled') return none({ ...state, mode: { kind: 'dashboard' } });
      if (step.type === 'editing')
        return none({ ...state, mode: { kind: 'answer', form: step.form, hint: step.hint ?? null } });
      const key2 = { sectionId: step.form.sectionId, alias: step.form.alias };
      return {
        state: { ...state, mode: { kind: 'dashboard' } },
        actions: [
          {
            type: 'answer',
            key: key2,
            promptId: step.form.promptId,
            answer: step.answer,
            description: step.description,
          },
        ],
      };
    }
    case 'confirm_reset': {
      if (key.input === 'y' || key.input === 'Y') {
        return { state: { ...state, mode: { kind: 'dashboard' } }, actions: [{ type: 'reset', key: mode.key }] };
      }
      return none(withMessage({ ...state, mode: { kind: 'dashboard' } }, 'reset cancelled', 'info', now));
    }
    case 'transcript': {
      if (key.escape || key.leftArrow || key.input === 'q' || key.backspace) {
        return none({ ...state, mode: { kind: 'dashboard' } });
      }
      const scroll = (n: number): KeyResult => none({ ...state, mode: { ...mode, scroll: Math.max(0, n) } });
      if (key.upArrow || key.input === 'k') return scroll(mode.scroll + 1);
      if (key.downArrow || key.input === 'j') return scroll(mode.scroll - 1);
      if (key.pageUp) return scroll(mode.scroll + PAGE * 2);
      if (key.pageDown) return scroll(mode.scroll - PAGE * 2);
      if (key.end) return scroll(0);
      return none(state);
    }
    case 'dashboard':
      return dashboardKey(state, key, snapshot, caps, now);
  }
}

function dashboardKey(state: UiState, key: Key, snapshot: Snapshot, caps: Capabilities, now: number): KeyResult {
  const move = (delta: number): KeyResult =>
    none({ ...state, selected: moveSelection(snapshot, state.selected, delta) });
  if (key.upArrow || key.input === 'k') return move(-1);
  if (key.downArrow || key.input === 'j' || key.tab) return move(1);
  if (key.pageUp) return move(-PAGE);
  if (key.pageDown) return move(PAGE);
  if (key.home) return move(-Number.MAX_SAFE_INTEGER);
  if (key.end) return move(Number.MAX_SAFE_INTEGER);
  if (key.input === 'q') return { state, actions: [{ type: 'quit' }] };

  const found = findThread(snapshot, state.selected);
  const needThread = (): KeyResult => none(withMessage(state, 'no thread selected', 'error', now));
  if (key.return) {
    if (!found) return needThread();
    return none({ ...state, mode: { kind: 'transcript', key: state.selected!, scroll: 0 } });
  }
  if (key.input === 'a') {
    if (!found) return needThread();
    const prompt = snapshot.prompts.find((p) => p.id === found.thread.open_prompt_id);
    if (!prompt) return none(withMessage(state, `${found.thread.alias} has no open prompt`, 'error', now));
    const form = openAnswerForm(prompt, found.section.id, { allowSession: caps.sessionScope });
    if ('error' in form) return none(withMessage(state, form.error, 'error', now));
    return none({ ...state, mode: { kind: 'answer', form, hint: null } });
  }
  if (key.input === 'r') {
    if (!found) return needThread();
    const st = found.thread.state;
    if (st !== 'failed' && st !== 'completed') {
      return none(
        withMessage(
          state,
          `only failed or completed threads can be reset (${found.thread.alias} is ${st})`,
          'error',
          now,
        ),
      );
    }
    return none({ ...state, mode: { kind: 'confirm_reset', key: state.selected! } });
  }
  if (key.input === 's') {
    if (!found) return needThread();
    if (!caps.interrupt) return none(withMessage(state, 'stop not available in this worker version', 'error', now));
    if (found.thread.state !== 'active_turn') {
      return none(withMessage(state, `${found.thread.alias} is not running a turn`, 'error', now));
    }
    return { state, actions: [{ type: 'interrupt', key: state.selected! }] };
  }
  return none(state);
}

/** The footer: a fresh message, else the keys of the current mode. */
export function footerText(
  state: UiState,
  caps: Capabilities,
  now: number,
): { text: string; tone: 'info' | 'error' | 'keys' } {
  if (state.mode.kind === 'confirm_reset') {
    return { text: `reset ${state.mode.key.alias} to pending? y = yes, any other key = no`, tone: 'error' };
  }
  if (state.message && now - state.message.at < MESSAGE_MS)
    return { text: state.message.text, tone: state.message.tone };
  switch (state.mode.kind) {
    case 'transcript':
      return { text: '↑↓ scroll · End follow · Esc back', tone: 'keys' };
    case 'answer':
      return { text: state.mode.hint ?? 'Esc cancel', tone: 'keys' };
    case 'dashboard':
      return {
        text: `↑↓ select · ⏎ transcript · a answer · r reset · ${caps.interrupt ? 's stop · ' : ''}q quit`,
        tone: 'keys',
      };
  }
}
