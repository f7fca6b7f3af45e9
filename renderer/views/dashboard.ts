/**
 * #dashboard: header, preflight banner, recent-errors ribbon, pending prompts, sections with their threads
 * (state, stats, per-thread actions; a thread's name opens its live transcript, views/thread.ts), a filter by
 * state and a search by name, and the handoff editor. Re-rendered from every pushed snapshot, except the filter
 * bar and the editor panel, which live outside the live regions so typing is never interrupted.
 */
import type { Snapshot, SnapshotSection, SnapshotThread } from '../../main/core/snapshot';
import {
  LOGIN_CODES,
  desktopRemediation,
  identityLabel,
  needsLogin,
  promptSummary,
  sectionLabel,
} from '../../main/display/status';
import { api, call } from '../api';
import { actionButton, actionRunner } from '../actions';
import { h, render } from '../dom';
import { PHASE_LABEL, THREAD_STATE_LABEL, resolvedLine, short, statsLine, time } from '../format';
import { openHandoffEditor } from './handoff';
import { threadHash } from './thread';

/** The state filter's choices; `active` covers both active states. */
const STATE_FILTERS = [
  ['all', 'All states'],
  ['active', 'Active'],
  ['pending', 'Pending'],
  ['failed', 'Failed'],
  ['completed', 'Completed'],
] as const;
type StateFilter = (typeof STATE_FILTERS)[number][0];

export function threadMatches(t: SnapshotThread, state: StateFilter, search: string): boolean {
  const stateOk =
    state === 'all' ||
    (state === 'active' ? t.state === 'active_turn' || t.state === 'active_idle' : t.state === state);
  return stateOk && (search === '' || t.alias.toLowerCase().includes(search.toLowerCase()));
}

export interface DashboardView {
  update(snapshot: Snapshot): void;
}

/** How many transient errors the ribbon shows (newest first); the core keeps a bounded list. */
const RIBBON_SIZE = 5;

export function mountDashboard(root: HTMLElement): DashboardView {
  const live = h('div', { class: 'live' });
  const sectionsLive = h('div', { class: 'live sections' });
  const status = h('p', { class: 'action-status', role: 'status', 'aria-live': 'polite' });
  const editor = h('aside', { class: 'editor-slot', 'aria-label': 'Handoff editor' });

  // Filter by state and search by name: outside the live regions, so a snapshot push never resets them.
  let stateFilter: StateFilter = 'all';
  let search = '';
  let last: Snapshot | null = null;
  const stateSelect = h(
    'select',
    { id: 'state-filter', 'data-key': 'state-filter' },
    ...STATE_FILTERS.map(([value, label]) => h('option', { value }, label)),
  );
  const searchBox = h('input', {
    type: 'search',
    id: 'thread-search',
    placeholder: 'Search threads by name',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  stateSelect.addEventListener('change', () => {
    stateFilter = STATE_FILTERS.find(([v]) => v === stateSelect.value)?.[0] ?? 'all';
    if (last) renderSections(last);
  });
  searchBox.addEventListener('input', () => {
    search = searchBox.value.trim();
    if (last) renderSections(last);
  });
  const filters = h(
    'div',
    { class: 'filters', role: 'search' },
    h('label', { for: 'state-filter' }, 'State'),
    stateSelect,
    h('label', { for: 'thread-search', class: 'visually-hidden' }, 'Search threads'),
    searchBox,
  );
  root.replaceChildren(h('div', { class: 'dashboard' }, live, filters, sectionsLive, status, editor));

  // Kept outside the live re-render (like the editor) so its state is the OS's, read once and on change.
  const startBox = h('input', { type: 'checkbox', id: 'start-at-login', 'data-key': 'start-at-login' });
  const startAtLogin = h('label', { class: 'check', for: 'start-at-login' }, startBox, ' Start at login');
  const turnBox = h('input', { type: 'checkbox', id: 'notify-turns', 'data-key': 'notify-turns' });
  const notifyTurns = h('label', { class: 'check', for: 'notify-turns' }, turnBox, ' Notify when a turn ends');
  void call(api().appGetSettings()).then(
    (settings) => {
      startBox.checked = settings.startAtLogin;
      turnBox.checked = settings.notifyTurnFinished;
    },
    () => undefined,
  );
  turnBox.addEventListener('change', () => {
    const enabled = turnBox.checked;
    void act(enabled ? 'Turn notices on' : 'Turn notices off', async () => {
      turnBox.checked = (await call(api().appSetNotifyTurnFinished({ enabled }))).notifyTurnFinished;
    });
  });
  startBox.addEventListener('change', () => {
    const enabled = startBox.checked;
    void act(enabled ? 'Start at login on' : 'Start at login off', async () => {
      startBox.checked = (await call(api().appSetStartAtLogin({ enabled }))).startAtLogin;
    });
  });

  const act = actionRunner(status);
  const button = actionButton;

  function header(s: Snapshot): HTMLElement {
    const who = identityLabel(s);
    return h(
      'header',
      { class: 'top' },
      h(
        'div',
        { class: 'title' },
        h('h1', null, 'BlobHub Worker'),
        h('span', { class: 'muted', 'data-testid': 'version' }, `v${s.version}`),
        h('span', { class: `badge phase-${s.phase}`, 'data-testid': 'phase' }, PHASE_LABEL[s.phase]),
        s.sandbox ? h('span', { class: 'badge sandbox', 'data-testid': 'sandbox-badge' }, 'Sandbox') : null,
      ),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'User'),
        h('dd', { 'data-testid': 'identity' }, who ?? (needsLogin(s) ? 'not signed in' : '—')),
        h('dt', null, 'Agents'),
        h('dd', { 'data-testid': 'agents' }, `${s.agents.busy}/${s.agents.max} busy`),
        h('dt', null, 'Instance'),
        h('dd', null, short(s.instance_id, 16)),
        ...policyFacts(s),
      ),
      h(
        'div',
        { class: 'toolbar' },
        button('Reload config', 'reload', () => void act('Reload config', () => call(api().configReload()))),
        button('Open config.yaml', 'config', () => void act('Open config.yaml', () => call(api().configOpen()))),
        button('Open logs', 'logs', () => void act('Open logs', () => call(api().logsOpen()))),
        s.sandbox
          ? button(
              'Leave sandbox',
              'leave-sandbox',
              () => void act('Leave sandbox', () => call(api().sandboxLeave())),
              { class: 'primary' },
            )
          : needsLogin(s)
            ? button(
                'Sign in',
                'signin',
                () => void act('Open sign-in', () => call(api().windowOpen({ view: 'login' }))),
              )
            : button('Sign out', 'signout', () => void act('Sign out', () => call(api().authSignOut()))),
        startAtLogin,
        notifyTurns,
        button('Quit', 'quit', () => void act('Quit (stopping agents gracefully)', () => call(api().appQuit()))),
      ),
    );
  }

  /** What thread envelopes may choose here (config.yaml `policy:`); shown once a config is loaded. */
  function policyFacts(s: Snapshot): HTMLElement[] {
    const p = s.policy;
    if (!p) return [];
    const roots = p.work_folder_roots;
    const parts = [
      p.envelope_executable === 'deny' ? 'configured agents only' : 'envelope may name the agent',
      p.max_permissions === 'approval' ? 'approval only' : 'autonomous allowed',
      roots.length === 0
        ? 'any work folder'
        : `work folders in ${roots.length === 1 ? roots[0] : `${roots.length} roots`}`,
    ];
    return [
      h('dt', null, 'Policy'),
      h(
        'dd',
        {
          'data-testid': 'policy',
          title: roots.length ? `work_folder_roots: ${roots.join(', ')}` : 'policy: defaults',
        },
        parts.join(' · '),
      ),
    ];
  }

  function sandboxNote(s: Snapshot): HTMLElement | null {
    if (!s.sandbox) return null;
    return h(
      'section',
      { class: 'sandbox-note', role: 'note', 'data-testid': 'sandbox-note' },
      h('strong', null, 'Local sandbox. '),
      'A demo BlobHub on 127.0.0.1 with a scripted demo agent: watch the handoff, answer its prompts, reset the failed thread. ',
      'Nothing here uses your account; leaving removes it.',
    );
  }

  function banner(s: Snapshot): HTMLElement | null {
    const e = s.preflight_error;
    if (!e) return null;
    const remediation = desktopRemediation(e.code, e.remediation);
    return h(
      'section',
      { class: 'banner', role: 'alert', 'data-testid': 'preflight-banner' },
      h('h2', null, s.phase === 'signed_out' ? 'Not signed in' : 'The worker could not start'),
      h('p', null, h('code', null, e.code), ' ', e.message),
      remediation ? h('p', { class: 'remediation' }, 'What to do: ', remediation) : null,
      LOGIN_CODES.has(e.code) || s.phase === 'signed_out'
        ? button(
            'Sign in',
            'banner-signin',
            () => void act('Open sign-in', () => call(api().windowOpen({ view: 'login' }))),
            { class: 'primary' },
          )
        : h(
            'div',
            { class: 'buttons' },
            button(
              'Open config.yaml',
              'banner-config',
              () => void act('Open config.yaml', () => call(api().configOpen())),
            ),
            button(
              'Retry (reload config)',
              'banner-retry',
              () => void act('Reload config', () => call(api().configReload())),
              { class: 'primary' },
            ),
          ),
    );
  }

  function ribbon(s: Snapshot): HTMLElement | null {
    if (s.recent_errors.length === 0) return null;
    const recent = s.recent_errors.slice(-RIBBON_SIZE).reverse();
    return h(
      'section',
      { class: 'ribbon', 'aria-label': 'Recent errors', 'data-testid': 'ribbon' },
      h('h2', null, 'Recent errors'),
      h(
        'ul',
        null,
        ...recent.map((e) =>
          h(
            'li',
            null,
            h('time', { datetime: e.at }, time(e.at)),
            ' ',
            h('code', null, e.code),
            ' ',
            [e.section, e.thread].filter(Boolean).join(' / '),
            e.section || e.thread ? ': ' : '',
            e.message,
          ),
        ),
      ),
    );
  }

  function prompts(s: Snapshot): HTMLElement | null {
    if (s.prompts.length === 0) return null;
    return h(
      'section',
      { class: 'prompts', 'aria-label': 'Prompts waiting', 'data-testid': 'prompts' },
      h('h2', null, `Prompts waiting (${s.prompts.length})`),
      h(
        'ul',
        null,
        ...s.prompts.map((p) =>
          h(
            'li',
            { 'data-prompt': p.id },
            h('span', { class: 'badge kind' }, p.kind.replace(/_/g, ' ')),
            ' ',
            h('strong', null, p.thread),
            ' — ',
            promptSummary(p),
            ' ',
            button(
              'Answer…',
              `answer:${p.id}`,
              () => void act('Open prompt', () => call(api().windowOpen({ view: 'prompt', promptId: p.id }))),
            ),
          ),
        ),
      ),
    );
  }

  function threadRow(section: SnapshotSection, t: SnapshotThread): HTMLElement[] {
    const ref = { sectionId: section.id, alias: t.alias };
    const key = `${section.id}:${t.alias}`;
    const canReset = t.state === 'failed' || t.state === 'completed';
    const main = h(
      'tr',
      { class: `thread state-${t.state}`, 'data-thread': t.alias, 'data-state': t.state },
      h(
        'td',
        null,
        h('span', { class: `state state-${t.state}`, 'data-testid': 'thread-state' }, THREAD_STATE_LABEL[t.state]),
      ),
      h(
        'th',
        { scope: 'row' },
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            'data-key': `view:${key}`,
            title: 'Open the live transcript',
            on: {
              click: () => {
                location.hash = threadHash(ref);
              },
            },
          },
          t.alias,
        ),
      ),
      h('td', null, t.agent_type ?? '—'),
      h('td', { title: t.agent_session_id ?? '' }, short(t.agent_session_id)),
      h('td', null, t.last_event ? `${t.last_event.kind} · ${time(t.last_event.at)}` : '—'),
      h('td', { class: 'stats', 'data-testid': 'thread-stats' }, statsLine(t.stats)),
      h(
        'td',
        { class: 'actions' },
        t.state === 'active_turn'
          ? button(
              'Stop turn',
              `stop:${key}`,
              () => void act(`Stop the turn of ${t.alias}`, () => call(api().threadInterrupt(ref))),
              { class: 'danger', title: 'Stops the current turn; the agent and the thread stay (like /stop)' },
            )
          : null,
        canReset
          ? button(
              'Reset to pending',
              `reset:${key}`,
              () => void act(`Reset ${t.alias}`, () => call(api().threadReset(ref))),
              { class: 'primary' },
            )
          : null,
        t.work_folder
          ? button(
              'Open work folder',
              `folder:${key}`,
              () => void act('Open work folder', () => call(api().threadOpenFolder(ref))),
            )
          : null,
        button(
          'Open thread.log',
          `log:${key}`,
          () => void act('Open thread.log', () => call(api().threadOpenLog(ref))),
        ),
        button('Edit handoff', `edit:${key}`, () => openHandoffEditor(editor, section, t, act)),
      ),
    );
    const detail = h(
      'tr',
      { class: 'thread-detail' },
      h(
        'td',
        { colspan: '7' },
        h('span', { class: 'muted' }, '└ ', resolvedLine(t)),
        t.work_folder ? h('span', { class: 'muted folder' }, ' · ', t.work_folder) : null,
        t.last_error
          ? h(
              'div',
              { class: 'thread-error', 'data-testid': 'thread-error' },
              h('code', null, t.last_error.code),
              ' ',
              t.last_error.message,
              t.last_error.remediation ? h('span', { class: 'remediation' }, ' — ', t.last_error.remediation) : null,
            )
          : null,
        t.granted_rules.length > 0
          ? h(
              'div',
              { class: 'granted', 'data-testid': 'granted-rules' },
              'Allowed for this agent session (revoking takes effect the next time the agent starts):',
              h(
                'ul',
                null,
                ...t.granted_rules.map((rule) =>
                  h(
                    'li',
                    null,
                    h('code', { class: 'rule' }, rule),
                    button(
                      'Revoke',
                      `revoke:${key}:${rule}`,
                      () => void act(`Revoke ${rule}`, () => call(api().threadRevokeGrant({ ...ref, rule }))),
                      { class: 'small' },
                    ),
                  ),
                ),
              ),
            )
          : null,
      ),
    );
    return [main, detail];
  }

  function section(s: SnapshotSection): HTMLElement {
    const shown = s.threads.filter((t) => threadMatches(t, stateFilter, search));
    const attached = s.attachment === 'attached' || s.attachment === 'attaching';
    return h(
      'section',
      { class: 'section', 'data-section': s.id, 'aria-label': `Section ${sectionLabel(s)}` },
      h(
        'header',
        null,
        h('h2', null, 'session_agent_harness · ', sectionLabel(s)),
        h('span', { class: `badge attach-${s.attachment}`, 'data-testid': 'attachment' }, s.attachment),
        h('span', { class: 'muted' }, ` realtime ${s.realtime} · session ${short(s.session.session_id, 20)}`),
        h('span', { class: 'muted section-stats', 'data-testid': 'section-stats' }, statsLine(s.stats)),
        attached
          ? button(
              'Detach',
              `detach:${s.id}`,
              () => void act(`Detach ${sectionLabel(s)}`, () => call(api().sectionDetach({ sectionId: s.id }))),
            )
          : button(
              'Re-attach',
              `reattach:${s.id}`,
              () => void act(`Re-attach ${sectionLabel(s)}`, () => call(api().sectionReattach({ sectionId: s.id }))),
            ),
      ),
      s.error
        ? h(
            'p',
            { class: 'section-error', role: 'note' },
            h('code', null, s.error.code),
            ' ',
            s.error.message,
            s.error.remediation ? h('span', { class: 'remediation' }, ' — ', s.error.remediation) : null,
          )
        : null,
      s.threads.length === 0
        ? h('p', { class: 'muted' }, 'No threads yet.')
        : shown.length === 0
          ? h('p', { class: 'muted' }, 'No thread matches the filter.')
          : h(
              'table',
              { class: 'threads' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ...['State', 'Thread', 'Agent', 'Session', 'Last event', 'Stats', 'Actions'].map((c) =>
                    h('th', { scope: 'col' }, c),
                  ),
                ),
              ),
              h('tbody', null, ...shown.flatMap((t) => threadRow(s, t))),
            ),
    );
  }

  function renderSections(snapshot: Snapshot): void {
    filters.hidden = snapshot.sections.every((s) => s.threads.length === 0);
    render(sectionsLive, ...snapshot.sections.map(section));
  }

  return {
    update(snapshot) {
      last = snapshot;
      render(
        live,
        header(snapshot),
        sandboxNote(snapshot),
        banner(snapshot),
        ribbon(snapshot),
        prompts(snapshot),
        snapshot.sections.length === 0 && !snapshot.preflight_error
          ? h('p', { class: 'muted empty' }, 'No sections yet. Add one to config.yaml, then Reload config.')
          : null,
      );
      renderSections(snapshot);
    },
  };
}
