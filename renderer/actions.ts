/** The per-view action helpers the dashboard and the thread view share. */
import { errorText } from './api';
import { h } from './dom';

/** Runs an action, saying in `status` that it runs, is done, or failed (with code and remediation). */
export function actionRunner(status: HTMLElement): (label: string, request: () => Promise<unknown>) => Promise<void> {
  return async (label, request) => {
    status.textContent = `${label}…`;
    status.className = 'action-status';
    try {
      await request();
      status.textContent = `${label}: done`;
    } catch (e) {
      const err = errorText(e);
      status.textContent = `${label} failed — ${err.code}: ${err.message}${err.remediation ? ` (${err.remediation})` : ''}`;
      status.className = 'action-status error';
    }
  };
}

/** A button found by tests and keyboard handling through its `data-key`. */
export const actionButton = (
  label: string,
  key: string,
  onClick: () => void,
  extra: Record<string, string> = {},
): HTMLButtonElement => h('button', { type: 'button', 'data-key': key, on: { click: onClick }, ...extra }, label);
