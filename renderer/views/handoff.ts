/**
 * The handoff editor (protocol §14): edits a thread envelope's `workspace.work_folder`, `agent.*` and
 * `instance.state` through `handoff:update`. Only changed fields are sent; an emptied field is sent as
 * `null`, which removes it from the envelope.
 */
import type { SnapshotSection, SnapshotThread } from '../../main/core/snapshot';
import type { HandoffPatch } from '../../main/ipc/contract';
import { api, call } from '../api';
import { h, nextId } from '../dom';
import { sectionLabel } from '../../main/display/status';

type Act = (label: string, request: () => Promise<unknown>) => Promise<void>;
type TextField = 'work_folder' | 'agent_type' | 'executable' | 'model' | 'effort' | 'permissions';

const FIELDS: Array<{ name: TextField; label: string; hint?: string; options?: string[] }> = [
  { name: 'work_folder', label: 'Work folder', hint: 'Absolute path on this machine' },
  { name: 'agent_type', label: 'Agent type', options: ['claude_code', 'codex'] },
  { name: 'executable', label: 'Executable', hint: 'Leave empty for the config default' },
  { name: 'model', label: 'Model' },
  { name: 'effort', label: 'Effort' },
  { name: 'permissions', label: 'Permissions', options: ['approval', 'autonomous'] },
];

export function openHandoffEditor(slot: HTMLElement, section: SnapshotSection, thread: SnapshotThread, act: Act): void {
  const initial: Record<TextField, string> = {
    work_folder: thread.work_folder ?? '',
    agent_type: thread.agent_type ?? '',
    executable: '',
    model: thread.model ?? '',
    effort: thread.effort ?? '',
    permissions: thread.permissions ?? '',
  };
  const inputs = new Map<TextField, HTMLInputElement | HTMLSelectElement>();
  const rows = FIELDS.map((f) => {
    const id = nextId(`handoff-${f.name}`);
    const control = f.options
      ? h(
          'select',
          { id, name: f.name },
          h('option', { value: '' }, '(not set)'),
          ...f.options.map((o) => h('option', { value: o, selected: initial[f.name] === o }, o)),
        )
      : h('input', {
          id,
          name: f.name,
          type: 'text',
          value: initial[f.name],
          spellcheck: 'false',
          autocomplete: 'off',
        });
    inputs.set(f.name, control);
    const hintId = f.hint ? `${id}-hint` : undefined;
    if (hintId) control.setAttribute('aria-describedby', hintId);
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, f.label),
      control,
      f.hint ? h('small', { id: hintId }, f.hint) : null,
    );
  });
  const stateId = nextId('handoff-state');
  const state = h(
    'select',
    { id: stateId, name: 'state' },
    h('option', { value: '' }, '(unchanged)'),
    ...['pending', 'active', 'completed', 'failed'].map((s) => h('option', { value: s }, s)),
  );
  const message = h('p', { class: 'form-message', role: 'status' });

  const form = h(
    'form',
    { class: 'handoff', 'data-testid': 'handoff-editor', 'aria-labelledby': 'handoff-title' },
    h('h2', { id: 'handoff-title' }, `Handoff: ${thread.alias}`),
    h(
      'p',
      { class: 'muted' },
      `Section ${sectionLabel(section)}. Changes are written to the thread envelope on BlobHub.`,
    ),
    ...rows,
    h('div', { class: 'field' }, h('label', { for: stateId }, 'instance.state'), state),
    message,
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, 'Save to envelope'),
      h('button', { type: 'button', on: { click: () => slot.replaceChildren() } }, 'Close'),
    ),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const patch: HandoffPatch = {};
    for (const [name, control] of inputs) {
      const value = control.value.trim();
      if (value !== initial[name]) patch[name] = value === '' ? null : value;
    }
    if (state.value) patch.state = state.value as NonNullable<HandoffPatch['state']>;
    if (Object.keys(patch).length === 0) {
      message.textContent = 'Nothing changed.';
      return;
    }
    void act(`Update handoff of ${thread.alias}`, async () => {
      await call(api().handoffUpdate({ sectionId: section.id, alias: thread.alias, patch }));
      message.textContent = 'Saved.';
      for (const [name, control] of inputs) initial[name] = control.value.trim();
      state.value = '';
    });
  });
  slot.replaceChildren(form);
  inputs.get('work_folder')?.focus();
}
