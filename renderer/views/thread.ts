/**
 * #thread/<section>/<alias>: one thread's live transcript (docs/desktop.md "Thread view"). The newest page comes
 * with the subscription (`thread:subscribe`); after that main pushes this thread's new and changed entries
 * (`thread:entries`). Newest at the bottom; the view follows them while the user is at the bottom, and stops
 * following when they scroll up. Scrolling to the top loads older entries from thread.log (`thread:transcript`).
 * At most VIEW_MAX entries are kept (transcript-list.ts).
 */
import type {
  Snapshot,
  SnapshotSection,
  SnapshotThread,
  ThreadEntriesPush,
  TranscriptEntry,
} from '../../main/ipc/contract';
import { sectionLabel } from '../../main/display/status';
import { api, call, errorText } from '../api';
import { actionButton, actionRunner } from '../actions';
import { h, render } from '../dom';
import { THREAD_STATE_LABEL, duration, statsLine, time, tokens } from '../format';
import { TranscriptList } from '../transcript-list';

export interface ThreadRef {
  sectionId: string;
  alias: string;
}

export interface ThreadView {
  update(snapshot: Snapshot): void;
  dispose(): void;
}

const PAGE = 100;
/** Within this many pixels of the bottom counts as "at the bottom" (following). */
const FOLLOW_SLACK = 40;
/** Within this many pixels of the top, older entries are loaded. */
const LOAD_SLACK = 80;

export function threadHash(ref: ThreadRef): string {
  return `#thread/${encodeURIComponent(ref.sectionId)}/${encodeURIComponent(ref.alias)}`;
}

function find(s: Snapshot, ref: ThreadRef): { section: SnapshotSection; thread: SnapshotThread } | null {
  const section = s.sections.find((x) => x.id === ref.sectionId);
  const thread = section?.threads.find((t) => t.alias === ref.alias);
  return section && thread ? { section, thread } : null;
}

function clock(at: string): HTMLElement {
  return h('time', { datetime: at, class: 'muted' }, time(at));
}

function truncatedNote(truncated: boolean): HTMLElement | null {
  return truncated
    ? h('p', { class: 'muted note' }, 'Cut here; the full text is in the thread and in thread.log.')
    : null;
}

/** One entry as a list item; `data-seq` is how live changes find it. */
export function entryNode(e: TranscriptEntry): HTMLElement {
  const li = (cls: string, ...children: Array<Node | string | null>) =>
    h('li', { class: `entry ${cls}`, 'data-seq': e.seq, 'data-kind': e.kind }, ...children);
  switch (e.kind) {
    case 'human':
      return li(
        'human',
        h('div', { class: 'who' }, 'Human', e.items > 1 ? ` · ${e.items} messages` : '', ' ', clock(e.at)),
        h('div', { class: 'body pre' }, e.text),
        truncatedNote(e.truncated),
      );
    case 'text':
      return li(
        'agent',
        h('div', { class: 'who' }, 'Agent ', clock(e.at)),
        h('div', { class: 'body pre' }, e.text),
        truncatedNote(e.truncated),
      );
    case 'thinking':
      return li(
        'thinking',
        h(
          'details',
          e.collapsed ? null : { open: true },
          h('summary', null, 'Thinking ', h('span', { class: 'muted' }, e.text.replace(/\s+/g, ' ').slice(0, 90))),
          h('div', { class: 'body pre' }, e.text),
          truncatedNote(e.truncated),
        ),
      );
    case 'tool': {
      const result =
        e.status === 'running'
          ? 'running…'
          : e.status === 'interrupted'
            ? 'interrupted'
            : `${e.status === 'error' ? 'error' : 'ok'} · ${e.output_lines ?? 0} ${e.output_lines === 1 ? 'line' : 'lines'}`;
      return li(
        `tool tool-${e.status}`,
        h(
          'div',
          { class: 'tool-head' },
          h('code', { class: 'tool-name' }, e.name),
          ' ',
          h('span', { class: 'tool-summary' }, e.summary),
          ' ',
          h('span', { class: `badge tool-status status-${e.status}`, 'data-testid': 'tool-status' }, result),
          ' ',
          clock(e.at),
        ),
        e.output_preview ? h('pre', { class: 'tool-output', 'data-testid': 'tool-output' }, e.output_preview) : null,
        e.input ? h('details', { class: 'tool-input' }, h('summary', null, 'Input'), h('pre', null, e.input)) : null,
      );
    }
    case 'prompt':
      return li(
        `prompt prompt-${e.status}`,
        h('div', { class: 'who' }, 'Prompt · ', e.prompt_kind.replace(/_/g, ' '), ' ', clock(e.at)),
        // The thread's brief starts with an emoji many desktop fonts lack; the entry's own styling says "prompt".
        h('div', { class: 'body pre' }, e.summary.replace(/^❓\s*/u, '')),
        e.status === 'open'
          ? h(
              'button',
              {
                type: 'button',
                class: 'primary',
                'data-key': `answer:${e.prompt_id}`,
                on: {
                  click: () =>
                    void call(api().windowOpen({ view: 'prompt', promptId: e.prompt_id })).catch(() => undefined),
                },
              },
              'Answer…',
            )
          : h(
              'p',
              { class: 'resolution', 'data-testid': 'prompt-resolution' },
              e.status === 'answered' ? 'Answered' : 'Cancelled',
              e.answered_via ? ` (${e.answered_via})` : '',
              e.resolution ? `: ${e.resolution}` : '',
            ),
      );
    case 'turn_end':
      return li(
        `turn-end${e.is_error ? ' turn-error' : ''}`,
        h(
          'span',
          null,
          'Turn ended',
          e.outcome && e.outcome !== 'completed' && e.outcome !== 'success' ? ` (${e.outcome})` : '',
          ` · ${duration(e.duration_ms)} · ${tokens(e.input_tokens)} in (${tokens(e.cached_tokens)} cached) · ${tokens(e.output_tokens)} out`,
        ),
        ' ',
        clock(e.at),
      );
    case 'status':
      return li(
        'status muted',
        h('span', null, e.status.replace(/_/g, ' '), e.detail ? ` — ${e.detail}` : ''),
        ' ',
        clock(e.at),
      );
    case 'error':
      return li('error', h('code', null, e.code), ' ', e.message, ' ', clock(e.at));
  }
}

export function mountThread(root: HTMLElement, where: ThreadRef): ThreadView {
  // Only the two fields: the channels take strict objects.
  const ref: ThreadRef = { sectionId: where.sectionId, alias: where.alias };
  const head = h('div', { class: 'thread-head' });
  const status = h('p', { class: 'action-status', role: 'status', 'aria-live': 'polite' });
  const olderRow = h('p', { class: 'older muted', 'data-testid': 'older' });
  const list = h('ol', { class: 'transcript-entries', 'aria-label': 'Transcript' });
  const scroller = h('div', { class: 'transcript', 'data-testid': 'transcript', tabindex: '0' }, olderRow, list);
  const latest = h(
    'button',
    {
      type: 'button',
      class: 'jump-latest',
      'data-testid': 'jump-latest',
      hidden: true,
      on: { click: () => void jumpToLatest() },
    },
    'New entries ↓',
  );
  root.replaceChildren(h('div', { class: 'thread-view' }, head, status, scroller, latest));

  const model = new TranscriptList();
  const nodes = new Map<number, HTMLElement>();
  let following = true;
  let loading = false;
  let disposed = false;
  let ready = false;
  let early: TranscriptEntry[] = [];

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < FOLLOW_SLACK;
  const toBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
  };

  function showOlderRow(): void {
    olderRow.textContent = loading
      ? 'Loading older entries…'
      : model.hasOlder
        ? 'Scroll up for older entries'
        : model.all.length === 0
          ? 'Nothing in this thread yet.'
          : 'Start of the transcript';
  }

  function showLatest(): void {
    latest.hidden = following && !model.hasNewer;
  }

  /** Replaces a node, keeping a <details> the user opened open. */
  function place(e: TranscriptEntry, before: Node | null): void {
    const node = entryNode(e);
    const old = nodes.get(e.seq);
    if (old) {
      const wasOpen = [...old.querySelectorAll('details')].map((d) => d.open);
      node.querySelectorAll('details').forEach((d, i) => {
        if (wasOpen[i]) d.open = true;
      });
      old.replaceWith(node);
    } else {
      list.insertBefore(node, before);
    }
    nodes.set(e.seq, node);
  }

  function drop(seqs: number[]): void {
    for (const seq of seqs) {
      nodes.get(seq)?.remove();
      nodes.delete(seq);
    }
  }

  function applyLive(entries: TranscriptEntry[]): void {
    const stick = following;
    const change = model.live(entries);
    for (const e of change.upserted) place(e, null);
    drop(change.removed);
    if (change.upserted.length > 0) {
      if (stick) toBottom();
      else latest.hidden = false;
    }
    showOlderRow();
  }

  function resetTo(entries: TranscriptEntry[], hasMore: boolean): void {
    model.reset(entries, hasMore);
    nodes.clear();
    list.replaceChildren();
    for (const e of model.all) place(e, null);
    following = true;
    showOlderRow();
    showLatest();
    toBottom();
  }

  async function loadOlder(): Promise<void> {
    const first = model.firstSeq;
    if (loading || !model.hasOlder || first === null) return;
    loading = true;
    showOlderRow();
    try {
      const page = await call(api().threadTranscript({ ...ref, before: first, limit: PAGE }));
      if (disposed) return;
      const height = scroller.scrollHeight;
      const top = scroller.scrollTop;
      const change = model.older(page.entries, page.has_more);
      const anchor = list.firstChild;
      for (const e of change.upserted) place(e, anchor);
      drop(change.removed);
      // Keep what the user was reading where it was.
      scroller.scrollTop = top + (scroller.scrollHeight - height);
      if (model.hasNewer) following = false;
      showLatest();
    } catch (e) {
      const err = errorText(e);
      status.textContent = `Loading older entries failed — ${err.code}: ${err.message}`;
      status.className = 'action-status error';
    } finally {
      loading = false;
      showOlderRow();
    }
  }

  async function jumpToLatest(): Promise<void> {
    if (model.hasNewer) {
      const page = await call(api().threadTranscript({ ...ref, limit: PAGE })).catch(() => null);
      if (!page || disposed) return;
      resetTo(page.entries, page.has_more);
    } else {
      following = true;
      toBottom();
      showLatest();
    }
  }

  scroller.addEventListener('scroll', () => {
    following = atBottom() && !model.hasNewer;
    showLatest();
    if (scroller.scrollTop < LOAD_SLACK) void loadOlder();
  });

  const stopPush = api().onThreadEntries((push: ThreadEntriesPush) => {
    if (disposed || push.sectionId !== ref.sectionId || push.alias !== ref.alias) return;
    if (ready) applyLive(push.entries);
    else early.push(...push.entries);
  });

  async function subscribe(): Promise<void> {
    try {
      const page = await call(api().threadSubscribe(ref));
      if (disposed) return;
      resetTo(page.entries, page.has_more);
      ready = true;
      // Pushes that raced the first page: whatever is newer or changed since.
      applyLive(early);
      early = [];
      toBottom();
    } catch (e) {
      const err = errorText(e);
      status.textContent = `Could not open the transcript — ${err.code}: ${err.message}`;
      status.className = 'action-status error';
    }
  }
  void subscribe();

  const act = actionRunner(status);
  const button = actionButton;

  return {
    update(snapshot) {
      const found = find(snapshot, ref);
      const back = button('← Dashboard', 'back', () => {
        location.hash = '#dashboard';
      });
      if (!found) {
        render(
          head,
          h(
            'header',
            { class: 'top thread-top' },
            back,
            h('h1', null, ref.alias),
            h('span', { class: 'muted' }, 'This thread is not in the worker right now.'),
          ),
        );
        return;
      }
      const { section, thread: t } = found;
      const canReset = t.state === 'failed' || t.state === 'completed';
      render(
        head,
        h(
          'header',
          { class: 'top thread-top' },
          h(
            'div',
            { class: 'title' },
            back,
            h('h1', { 'data-testid': 'thread-title' }, t.alias),
            h('span', { class: 'muted' }, `session_agent_harness · ${sectionLabel(section)}`),
            h('span', { class: `state state-${t.state}`, 'data-testid': 'thread-state' }, THREAD_STATE_LABEL[t.state]),
          ),
          h(
            'div',
            { class: 'toolbar' },
            t.open_prompt_id
              ? button(
                  'Answer prompt…',
                  'answer-open',
                  () =>
                    void act('Open prompt', () =>
                      call(api().windowOpen({ view: 'prompt', promptId: t.open_prompt_id! })),
                    ),
                  { class: 'primary' },
                )
              : null,
            canReset
              ? button(
                  'Reset to pending',
                  'reset',
                  () => void act(`Reset ${t.alias}`, () => call(api().threadReset(ref))),
                  {
                    class: 'primary',
                  },
                )
              : null,
            button('Open thread.log', 'log', () => void act('Open thread.log', () => call(api().threadOpenLog(ref)))),
          ),
          h(
            'p',
            { class: 'muted thread-facts' },
            h('span', { 'data-testid': 'thread-stats' }, statsLine(t.stats)),
            ' · ',
            t.agent_type ?? 'no agent yet',
            t.model ? ` · ${t.model}` : '',
          ),
          t.last_error
            ? h(
                'p',
                { class: 'thread-error', 'data-testid': 'thread-error' },
                h('code', null, t.last_error.code),
                ' ',
                t.last_error.message,
              )
            : null,
        ),
      );
    },
    dispose() {
      disposed = true;
      stopPush();
      void call(api().threadUnsubscribe()).catch(() => undefined);
    },
  };
}
