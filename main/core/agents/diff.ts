/**
 * Diffs shown before an edit is approved (protocol §9.1 `metadata.prompt.diff`): a unified diff plus a
 * `+N −M path` line per file. Claude's Edit / MultiEdit / Write / NotebookEdit inputs are applied to the file as
 * it is on disk at prompt time; Codex's fileChange items carry their own per-file diffs. The diff text comes from
 * jsdiff (`diff`); everything here is bounded: big files are not diffed, the diff is cut like §8.2.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { createTwoFilesPatch, structuredPatch } from 'diff';
import { excerpt } from '../harness/outbound/budget';

/** Files larger than this are not read for a diff (the prompt says so instead). */
export const DIFF_MAX_FILE_BYTES = 2 * 1024 * 1024;
/** The diff text kept in the prompt; the rest is cut head + marker + tail like protocol §8.2. */
export const DIFF_MAX_BYTES = 160 * 1024;
/** Bound on jsdiff's work (edit script length); beyond it the change is shown as a whole-file replacement. */
const MAX_EDIT_LENGTH = 20_000;
const CONTEXT_LINES = 3;

export interface FileDiffStat {
  path: string;
  added: number;
  removed: number;
  /** Why there is no line diff for this file (too large, text not found, ...). */
  note?: string;
}

export interface PromptDiff {
  /** Unified diff of every file, `--- a/…` / `+++ b/…` headers and `@@` hunks. */
  diff: string;
  /** One `+N −M path` line per file (with a note in parentheses when there is one). */
  summary: string;
  files: FileDiffStat[];
}

/** The path as people read it: relative to the work folder when inside it. */
function displayPath(path: string, cwd: string): string {
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

type Disk = { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'unreadable'; note: string };

function readDisk(path: string, cwd: string): Disk {
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  try {
    const st = statSync(abs);
    if (!st.isFile()) return { kind: 'unreadable', note: 'not a regular file' };
    if (st.size > DIFF_MAX_FILE_BYTES) return { kind: 'unreadable', note: `file too large to diff (${st.size} bytes)` };
    return { kind: 'text', text: readFileSync(abs, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'unreadable', note: `cannot read the file (${code ?? 'error'})` };
  }
}

/** One file's patch text and counts; null when jsdiff gave up within its bound. */
function filePatch(
  path: string,
  before: string | null,
  after: string | null,
): { text: string; added: number; removed: number } | null {
  const oldName = before === null ? '/dev/null' : `a/${path}`;
  const newName = after === null ? '/dev/null' : `b/${path}`;
  const structured = structuredPatch(oldName, newName, before ?? '', after ?? '', undefined, undefined, {
    context: CONTEXT_LINES,
    maxEditLength: MAX_EDIT_LENGTH,
  });
  if (!structured) return null;
  let added = 0;
  let removed = 0;
  for (const h of structured.hunks) {
    for (const l of h.lines) {
      if (l.startsWith('+')) added++;
      else if (l.startsWith('-')) removed++;
    }
  }
  const text = createTwoFilesPatch(oldName, newName, before ?? '', after ?? '', undefined, undefined, {
    context: CONTEXT_LINES,
    headerOptions: { includeIndex: false, includeUnderline: false, includeFileHeaders: true },
  });
  return { text, added, removed };
}

/** A whole-file replacement header + the new text, when jsdiff's bound was hit. */
function wholeFile(
  path: string,
  before: string | null,
  after: string | null,
): { text: string; added: number; removed: number } {
  const lines = (s: string | null): string[] => (s === null || s === '' ? [] : s.replace(/\n$/, '').split('\n'));
  const a = lines(before);
  const b = lines(after);
  const text =
    `--- ${before === null ? '/dev/null' : `a/${path}`}\n+++ ${after === null ? '/dev/null' : `b/${path}`}\n` +
    `@@ -${a.length ? 1 : 0},${a.length} +${b.length ? 1 : 0},${b.length} @@\n` +
    a.map((l) => `-${l}\n`).join('') +
    b.map((l) => `+${l}\n`).join('');
  return { text, added: b.length, removed: a.length };
}

function assemble(parts: Array<{ stat: FileDiffStat; text: string }>): PromptDiff | null {
  if (parts.length === 0) return null;
  const full = parts.map((p) => p.text).join('');
  const buf = Buffer.from(full, 'utf8');
  const diff = buf.length > DIFF_MAX_BYTES ? excerpt(buf, DIFF_MAX_BYTES) : full;
  const files = parts.map((p) => p.stat);
  return { diff, summary: files.map(formatStat).join('\n'), files };
}

export function formatStat(s: FileDiffStat): string {
  return `+${s.added} −${s.removed} ${s.path}${s.note ? ` (${s.note})` : ''}`;
}

function change(
  path: string,
  before: string | null,
  after: string | null,
  note?: string,
): { stat: FileDiffStat; text: string } {
  const p = filePatch(path, before, after) ?? wholeFile(path, before, after);
  return { stat: { path, added: p.added, removed: p.removed, ...(note ? { note } : {}) }, text: p.text };
}

/** Applies one Edit the way Claude Code does: the first occurrence, or every one with `replace_all`. */
function applyEdit(text: string, oldString: string, newString: string, replaceAll: boolean): string | null {
  if (oldString === '') return text === '' ? newString : null;
  if (!text.includes(oldString)) return null;
  return replaceAll ? text.split(oldString).join(newString) : text.replace(oldString, () => newString);
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Edits of a Claude Edit / MultiEdit input, in order. */
function editsOf(
  tool: string,
  input: Record<string, unknown>,
): Array<{ old: string; new: string; all: boolean }> | null {
  if (tool === 'Edit') {
    const o = str(input.old_string);
    const n = str(input.new_string);
    return o === null || n === null ? null : [{ old: o, new: n, all: input.replace_all === true }];
  }
  if (!Array.isArray(input.edits)) return null;
  const out: Array<{ old: string; new: string; all: boolean }> = [];
  for (const e of input.edits as unknown[]) {
    if (!e || typeof e !== 'object') return null;
    const r = e as Record<string, unknown>;
    const o = str(r.old_string);
    const n = str(r.new_string);
    if (o === null || n === null) return null;
    out.push({ old: o, new: n, all: r.replace_all === true });
  }
  return out;
}

/** The source of one notebook cell (a string or an array of lines, per nbformat). */
function cellSource(cell: unknown): string {
  const src = (cell as { source?: unknown } | null)?.source;
  if (typeof src === 'string') return src;
  return Array.isArray(src) ? src.map((s) => String(s)).join('') : '';
}

function notebookChange(input: Record<string, unknown>, cwd: string): { stat: FileDiffStat; text: string } | null {
  const path = str(input.notebook_path);
  if (!path) return null;
  const shown = displayPath(path, cwd);
  const mode = str(input.edit_mode) ?? 'replace';
  const newSource = str(input.new_source) ?? '';
  const cellId = str(input.cell_id);
  const disk = readDisk(path, cwd);
  let before = '';
  let label = cellId ? `${shown} [cell ${cellId}]` : shown;
  if (disk.kind === 'text' && mode !== 'insert') {
    try {
      const nb = JSON.parse(disk.text) as { cells?: unknown[] };
      const cells = Array.isArray(nb.cells) ? nb.cells : [];
      const byId = cells.find((c) => (c as { id?: unknown } | null)?.id === cellId);
      const indexMatch = cellId ? /^cell-(\d+)$/.exec(cellId) : null;
      const cell = byId ?? (indexMatch ? cells[Number(indexMatch[1])] : cellId ? undefined : cells[0]);
      if (cell !== undefined) before = cellSource(cell);
      else label += ' (cell not found on disk)';
    } catch {
      label += ' (notebook is not valid JSON)';
    }
  } else if (disk.kind === 'unreadable') {
    label += ` (${disk.note})`;
  }
  const after = mode === 'delete' ? '' : newSource;
  const withNewline = (s: string): string => (s && !s.endsWith('\n') ? `${s}\n` : s);
  return change(label, withNewline(before), withNewline(after));
}

/**
 * The diff of a Claude file-editing tool call against the file on disk now; null for other tools or an input
 * that is not an edit. Never throws: an unreadable file or an edit that does not apply gives a note and the
 * diff of the edit's own text.
 */
export function claudeEditDiff(toolName: string, rawInput: unknown, cwd: string): PromptDiff | null {
  if (!rawInput || typeof rawInput !== 'object') return null;
  const input = rawInput as Record<string, unknown>;
  if (toolName === 'NotebookEdit') {
    const c = notebookChange(input, cwd);
    return c ? assemble([c]) : null;
  }
  if (toolName !== 'Edit' && toolName !== 'MultiEdit' && toolName !== 'Write') return null;
  const path = str(input.file_path);
  if (!path) return null;
  const shown = displayPath(path, cwd);
  const disk = readDisk(path, cwd);
  if (disk.kind === 'unreadable') {
    return assemble([{ stat: { path: shown, added: 0, removed: 0, note: disk.note }, text: '' }]);
  }
  const before = disk.kind === 'text' ? disk.text : null;
  if (toolName === 'Write') {
    const content = str(input.content);
    if (content === null) return null;
    return assemble([change(shown, before, content)]);
  }
  const edits = editsOf(toolName, input);
  if (!edits) return null;
  let text = before ?? '';
  for (const e of edits) {
    const next = applyEdit(text, e.old, e.new, e.all);
    if (next === null) {
      // Claude Code will refuse this edit itself; show what the agent wanted to change.
      const note = before === null ? 'file does not exist yet' : 'text to replace not found in the file on disk';
      return assemble(edits.map((x) => change(shown, x.old, x.new, note)));
    }
    text = next;
  }
  return assemble([change(shown, before, text)]);
}

/** Codex fileChange `changes` (`{path, kind, diff}`, kind flattened from `{type}`); null when there are none. */
export function codexChangesDiff(changes: unknown, cwd: string): PromptDiff | null {
  if (!Array.isArray(changes)) return null;
  const parts: Array<{ stat: FileDiffStat; text: string }> = [];
  for (const c of changes as unknown[]) {
    if (!c || typeof c !== 'object') continue;
    const r = c as Record<string, unknown>;
    const path = str(r.path);
    if (!path) continue;
    const kind = typeof r.kind === 'string' ? r.kind : (str((r.kind as { type?: unknown } | null)?.type) ?? 'update');
    const diff = str(r.diff) ?? '';
    const shown = displayPath(path, cwd);
    if (kind === 'add') parts.push(change(shown, null, diff));
    else if (kind === 'delete') parts.push(change(shown, diff, null));
    else {
      // An update carries a unified diff already (hunks, maybe without file headers): count and pass it on.
      let added = 0;
      let removed = 0;
      const lines = diff.split('\n');
      for (const l of lines) {
        if (l.startsWith('+++') || l.startsWith('---')) continue;
        if (l.startsWith('+')) added++;
        else if (l.startsWith('-')) removed++;
      }
      const hasHeaders = lines.some((l) => l.startsWith('--- ')) && lines.some((l) => l.startsWith('+++ '));
      const body = diff.endsWith('\n') || diff === '' ? diff : `${diff}\n`;
      parts.push({
        stat: { path: shown, added, removed },
        text: hasHeaders ? body : `--- a/${shown}\n+++ b/${shown}\n${body}`,
      });
    }
  }
  return assemble(parts);
}
