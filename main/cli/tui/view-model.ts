/**
 * The terminal dashboard's view model (docs/cli.md "start --tui"): pure functions from a Snapshot and the UI
 * state to what is drawn — the header, one panel per section with its visible thread rows, the recent-errors
 * ribbon and the footer. No ink, no React, no I/O: the ink components only lay these values out, and the unit
 * tests check them directly.
 */
import type { Snapshot, SnapshotSection, SnapshotThread, ThreadDisplayState } from '../../core/snapshot';

/** A thread is addressed by its section's job id and its alias (both stable across snapshots). */
export interface ThreadKey {
  sectionId: string;
  alias: string;
}

/** Colours by name, as ink's `<Text color>` takes them; `dim` is the "completed" look of the status display. */
export interface Tone {
  color?: 'green' | 'yellow' | 'red' | 'cyan' | 'magenta' | 'gray';
  dim?: boolean;
  bold?: boolean;
}

export const STATE_LABEL: Record<ThreadDisplayState, string> = {
  active_turn: 'active (turn)',
  active_idle: 'active (idle)',
  pending: 'pending',
  completed: 'completed',
  failed: 'failed',
};

/** The worker's status colours (docs/cli.md, "start --tui"): active green, pending yellow, completed dim, failed red. */
export const STATE_TONE: Record<ThreadDisplayState, Tone> = {
  active_turn: { color: 'green', bold: true },
  active_idle: { color: 'green' },
  pending: { color: 'yellow' },
  completed: { dim: true },
  failed: { color: 'red', bold: true },
};

export interface Columns {
  marker: number;
  thread: number;
  state: number;
  agent: number;
  session: number;
  lastEvent: number;
}

/** Inside a panel: the border and one column of padding on each side. */
export const PANEL_CHROME_COLUMNS = 4;

/** Column widths for a terminal `width` columns wide; the Last Event column takes what is left. */
export function columnsFor(width: number): Columns {
  const inner = Math.max(40, width - PANEL_CHROME_COLUMNS);
  const marker = 2;
  const state = 14;
  const agent = 12;
  const rest = inner - marker - state - agent;
  // The alias and the session id (a UUID for Claude, 36 characters) grow with the terminal, up to their
  // usual lengths; Last Event takes the rest.
  const thread = Math.max(8, Math.min(24, Math.floor(rest * 0.25)));
  const session = Math.max(10, Math.min(37, Math.floor(rest * 0.3)));
  return { marker, thread, state, agent, session, lastEvent: Math.max(8, rest - thread - session) };
}

/** A table cell: `text` cut to `width - 1` cells and padded, so neighbouring columns keep one space between. */
export function cell(text: string, width: number): string {
  return fit(text, width - 1) + ' ';
}

/** Cuts `text` to `width` terminal cells, ending in `…` when cut. Session ids and messages are plain ASCII. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = Array.from(text);
  if (chars.length <= width) return text + ' '.repeat(width - chars.length);
  return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
}

/** "12s ago", "3m ago", "2h ago", "4d ago"; a time in the future (clock skew) reads "now". */
export function ago(at: string, now: Date): string {
  const t = Date.parse(at);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.round((now.getTime() - t) / 1000));
  if (s < 60) return s < 2 ? 'now' : `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

/** Local wall-clock time `HH:MM:SS` (the header clock). */
export function clock(now: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
}

export interface ThreadRow {
  key: ThreadKey;
  state: ThreadDisplayState;
  stateLabel: string;
  tone: Tone;
  agent: string;
  session: string;
  lastEvent: string;
  /** The `└ model · effort · perm` line. */
  detail: string;
  selected: boolean;
  /** An open prompt waits for an answer (the row says so; `a` answers it). */
  prompt: boolean;
}

export interface PanelView {
  sectionId: string;
  /** `session_agent_harness · <name>`, the section header of the status display. */
  title: string;
  /** attachment, realtime, and the refusal code of a refused section. */
  status: string;
  statusTone: Tone;
  rows: ThreadRow[];
  /** Threads scrolled out of view above / below the visible window. */
  hiddenAbove: number;
  hiddenBelow: number;
  /** The section has no thread (yet): the panel says so. */
  empty: boolean;
  /** Lines this panel takes, borders included (the layout budget). */
  height: number;
}

export interface RibbonEntry {
  at: string;
  time: string;
  code: string;
  where: string;
  message: string;
  tone: Tone;
}

export interface HeaderView {
  title: string;
  user: string;
  clock: string;
  agents: string;
  /** Second line: instance id, phase (when not running), state root. */
  instance: string;
  phase: Snapshot['phase'];
}

export interface DashboardView {
  header: HeaderView;
  panels: PanelView[];
  /** Sections that did not fit at all (only when the terminal is very short). */
  hiddenSections: number;
  ribbon: RibbonEntry[];
  /** How many ribbon lines there is room for (the box shows "none" when there are no entries); 0 = no box. */
  ribbonLines: number;
  columns: Columns;
}

export const HEADER_LINES = 2;
export const FOOTER_LINES = 1;
/** Ribbon: borders + title + its entries. */
export const RIBBON_CHROME = 3;
export const RIBBON_MAX = 3;
/** Panel: borders + title + column header. */
export const PANEL_CHROME = 4;
export const ROW_LINES = 2;

export function sectionName(s: SnapshotSection): string {
  return s.name ?? s.session.session_id;
}

/** Every thread in display order (sections in config order, threads as the snapshot lists them). */
export function threadKeys(snapshot: Snapshot): ThreadKey[] {
  return snapshot.sections.flatMap((s) => s.threads.map((t) => ({ sectionId: s.id, alias: t.alias })));
}

export function sameKey(a: ThreadKey | null, b: ThreadKey | null): boolean {
  return !!a && !!b && a.sectionId === b.sectionId && a.alias === b.alias;
}

export function findThread(
  snapshot: Snapshot,
  key: ThreadKey | null,
): { section: SnapshotSection; thread: SnapshotThread } | null {
  if (!key) return null;
  const section = snapshot.sections.find((s) => s.id === key.sectionId);
  const thread = section?.threads.find((t) => t.alias === key.alias);
  return section && thread ? { section, thread } : null;
}

/**
 * The selection after a snapshot change: the same thread if it still exists, else the first thread (or none).
 * A thread that disappears (deleted on the server) moves the highlight instead of leaving it nowhere.
 */
export function reconcileSelection(snapshot: Snapshot, selected: ThreadKey | null): ThreadKey | null {
  if (findThread(snapshot, selected)) return selected;
  return threadKeys(snapshot)[0] ?? null;
}

/** Moves the selection `delta` threads (across panels), clamped to the first and last thread. */
export function moveSelection(snapshot: Snapshot, selected: ThreadKey | null, delta: number): ThreadKey | null {
  const keys = threadKeys(snapshot);
  if (keys.length === 0) return null;
  const at = keys.findIndex((k) => sameKey(k, selected));
  if (at === -1) return keys[0];
  return keys[Math.min(keys.length - 1, Math.max(0, at + delta))];
}

function modelLine(t: SnapshotThread): string {
  return `└ ${t.model ?? 'default model'} · ${t.effort ?? 'default effort'} · ${t.permissions ?? 'default perm'}`;
}

function lastEventText(t: SnapshotThread, now: Date): string {
  if (t.state === 'failed' && t.last_error) return `${t.last_error.code}: ${t.last_error.message}`;
  if (t.open_prompt_id) return `prompt waiting (a to answer)`;
  if (!t.last_event) return '—';
  const when = ago(t.last_event.at, now);
  return when ? `${t.last_event.kind} · ${when}` : t.last_event.kind;
}

function threadRow(section: SnapshotSection, t: SnapshotThread, selected: ThreadKey | null, now: Date): ThreadRow {
  const key = { sectionId: section.id, alias: t.alias };
  return {
    key,
    state: t.state,
    stateLabel: STATE_LABEL[t.state],
    tone: STATE_TONE[t.state],
    agent: t.agent_type ?? '—',
    session: t.agent_session_id ?? '—',
    lastEvent: lastEventText(t, now),
    detail: modelLine(t),
    selected: sameKey(key, selected),
    prompt: t.open_prompt_id !== null,
  };
}

function sectionStatus(s: SnapshotSection): { text: string; tone: Tone } {
  const realtime = s.realtime === 'off' ? 'polling' : `realtime ${s.realtime}`;
  if (s.attachment === 'refused') {
    return { text: `refused: ${s.error?.code ?? 'unknown'}`, tone: { color: 'red', bold: true } };
  }
  if (s.attachment === 'detached') return { text: 'detached', tone: { dim: true } };
  if (s.attachment === 'attaching') return { text: 'attaching…', tone: { color: 'yellow' } };
  return { text: `attached · ${realtime}`, tone: { color: 'green' } };
}

/**
 * The recent-errors ribbon ("latest warnings and failures"): the snapshot's transient errors (the
 * seeds' warning ribbon: 5xx, 429, network), refused sections, failed threads and a preflight failure, newest
 * first, at most `limit`.
 */
export function ribbonEntries(snapshot: Snapshot, limit = RIBBON_MAX): RibbonEntry[] {
  const out: Array<Omit<RibbonEntry, 'time'>> = [];
  const byId = new Map(snapshot.sections.map((s) => [s.id, s] as const));
  const bySession = new Map(snapshot.sections.map((s) => [s.session.session_id, s] as const));
  const label = (section: string | null, thread: string | null): string => {
    const s = section ? (byId.get(section) ?? bySession.get(section)) : undefined;
    const name = s ? sectionName(s) : section;
    return [name, thread].filter(Boolean).join('/') || 'worker';
  };
  for (const e of snapshot.recent_errors) {
    out.push({
      at: e.at,
      code: e.code,
      where: label(e.section, e.thread),
      message: e.message,
      tone: { color: 'yellow' },
    });
  }
  for (const s of snapshot.sections) {
    if (s.error && s.attachment === 'refused') {
      out.push({
        at: s.error.at,
        code: s.error.code,
        where: sectionName(s),
        message: s.error.message,
        tone: { color: 'red' },
      });
    }
    for (const t of s.threads) {
      if (t.state === 'failed' && t.last_error) {
        out.push({
          at: t.last_error.at,
          code: t.last_error.code,
          where: `${sectionName(s)}/${t.alias}`,
          message: t.last_error.message,
          tone: { color: 'red' },
        });
      }
    }
  }
  if (snapshot.preflight_error) {
    const e = snapshot.preflight_error;
    out.push({ at: e.at, code: e.code, where: 'preflight', message: e.message, tone: { color: 'red' } });
  }
  return out
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    .slice(0, limit)
    .map((e) => {
      const d = new Date(e.at);
      return { ...e, time: Number.isFinite(d.getTime()) ? clock(d) : '--:--:--' };
    });
}

function headerView(snapshot: Snapshot, now: Date): HeaderView {
  const id = snapshot.identity;
  const user = id ? (id.name ?? id.user_id) : 'not signed in';
  const phase = snapshot.phase === 'running' ? '' : `${snapshot.phase} · `;
  return {
    title: `BlobHub Worker ${snapshot.version}`,
    user,
    clock: clock(now),
    agents: `${snapshot.agents.busy}/${snapshot.agents.max} agents`,
    instance: `${phase}${id ? `${id.user_id} · ` : ''}instance ${snapshot.instance_id ?? '—'} · ${snapshot.state_root}`,
    phase: snapshot.phase,
  };
}

/**
 * Chooses which threads of which panels are visible in `budget` lines: every panel gets its chrome (title and
 * column header) first, in config order, as long as they fit; then the panel holding the selection gets as many
 * rows as fit around the selected thread, then the other panels in order. One line per panel is kept for the
 * "… n more" marker when threads are hidden.
 */
function layoutPanels(
  snapshot: Snapshot,
  selected: ThreadKey | null,
  budget: number,
  now: Date,
): { panels: PanelView[]; hiddenSections: number } {
  const sections = snapshot.sections;
  const selectedIndex = Math.max(
    0,
    sections.findIndex((s) => s.id === selected?.sectionId),
  );
  // Which sections get a panel at all: the selected one first, then the others in order, while their chrome
  // fits. The chrome reserves one line beyond the title and column header: the "… n more" marker, the "no
  // threads" line, or (when every row fits) one line given back to the next panel.
  const chosen = new Set<number>();
  let left = budget;
  const order = [selectedIndex, ...sections.map((_, i) => i).filter((i) => i !== selectedIndex)];
  for (const i of order) {
    if (i >= sections.length) continue;
    if (PANEL_CHROME + 1 > left && chosen.size > 0) break;
    chosen.add(i);
    left -= PANEL_CHROME + 1;
  }
  const rowsFor = new Map<number, { start: number; count: number }>();
  for (const i of order) {
    if (!chosen.has(i)) continue;
    const threads = sections[i].threads;
    if (threads.length === 0) continue;
    const count = Math.min(threads.length, Math.max(0, Math.floor(left / ROW_LINES)));
    let start = 0;
    if (i === selectedIndex && selected) {
      const at = threads.findIndex((t) => t.alias === selected.alias);
      if (at >= count) start = at - count + 1;
    }
    rowsFor.set(i, { start, count });
    left -= count * ROW_LINES;
    if (count === threads.length) left += 1; // the marker line is not needed
  }
  const panels: PanelView[] = [];
  sections.forEach((s, i) => {
    if (!chosen.has(i)) return;
    const { start, count } = rowsFor.get(i) ?? { start: 0, count: 0 };
    const rows = s.threads.slice(start, start + count).map((t) => threadRow(s, t, selected, now));
    const hiddenAbove = start;
    const hiddenBelow = s.threads.length - start - rows.length;
    const status = sectionStatus(s);
    const empty = s.threads.length === 0;
    panels.push({
      sectionId: s.id,
      title: `session_agent_harness · ${sectionName(s)}`,
      status: status.text,
      statusTone: status.tone,
      rows,
      hiddenAbove,
      hiddenBelow,
      empty,
      height: PANEL_CHROME + rows.length * ROW_LINES + (hiddenAbove + hiddenBelow > 0 || empty ? 1 : 0),
    });
  });
  return { panels, hiddenSections: sections.length - chosen.size };
}

/** The whole dashboard for a terminal of `size`, at `now`. Everything fits in `size.rows - 1` lines. */
export function buildDashboard(
  snapshot: Snapshot,
  selected: ThreadKey | null,
  size: { columns: number; rows: number },
  now: Date,
): DashboardView {
  const ribbon = ribbonEntries(snapshot);
  // Short terminals give the ribbon fewer lines (one: "none" or the newest error), and very short ones none:
  // the threads come first.
  const usable = Math.max(8, size.rows - 1) - HEADER_LINES - FOOTER_LINES;
  const ribbonLines =
    usable < 14 ? 0 : Math.max(1, Math.min(ribbon.length || 1, usable >= 18 ? RIBBON_MAX : usable >= 16 ? 2 : 1));
  const budget = usable - (ribbonLines ? RIBBON_CHROME + ribbonLines : 0);
  const { panels, hiddenSections } = layoutPanels(snapshot, selected, Math.max(0, budget), now);
  return {
    header: headerView(snapshot, now),
    panels,
    hiddenSections,
    ribbon: ribbon.slice(0, ribbonLines),
    ribbonLines,
    columns: columnsFor(size.columns),
  };
}
