/**
 * The short, one-line summary of a tool's input (protocol §8.1): the `tool_call` brief and the approval
 * prompt's brief both use it, so a tool reads the same everywhere. Text helpers count code points, so an
 * emoji is never cut in half.
 */

/** Cuts to at most `max` characters (code points, so an emoji is never split), ending in `…` when cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // 2·max+2 UTF-16 units always hold more than `max` code points when the text is longer than that.
  const chars = Array.from(text.slice(0, max * 2 + 2));
  if (chars.length <= max) return text;
  return chars.slice(0, max - 1).join('') + '…';
}

/** The first `n` characters (code points), never half an emoji. */
export function firstChars(text: string, n: number): string {
  return Array.from(text.slice(0, n * 2 + 2))
    .slice(0, n)
    .join('');
}

/** One line: every run of whitespace (newlines included) becomes one space. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

const firstString = (input: unknown): string | undefined => {
  if (typeof input === 'string') return input;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  for (const v of Object.values(input)) if (typeof v === 'string') return v;
  return undefined;
};

const field = (input: unknown, ...keys: string[]): string | undefined => {
  if (input === null || typeof input !== 'object') return undefined;
  const rec = input as Record<string, unknown>;
  for (const key of keys) {
    const v = rec[key];
    if (typeof v === 'string') return v;
    // Codex exec-style commands come as argv arrays.
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(' ');
  }
  return undefined;
};

/** Codex file changes: `changes: [{path}]` (app-server / exec) or a `{path: change}` map. */
const changedPaths = (input: unknown): string | undefined => {
  if (input === null || typeof input !== 'object') return undefined;
  const changes = (input as Record<string, unknown>).changes;
  if (Array.isArray(changes)) {
    const paths = changes
      .map((c) => (c && typeof c === 'object' ? (c as Record<string, unknown>).path : undefined))
      .filter((p): p is string => typeof p === 'string');
    return paths.length ? paths.join(', ') : undefined;
  }
  if (changes && typeof changes === 'object') return Object.keys(changes).join(', ') || undefined;
  return undefined;
};

/** Codex tools are named by item type; compare without case or separators (`commandExecution`, `command_execution`). */
const norm = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');
const CODEX_COMMAND = new Set(['commandexecution', 'command', 'shell', 'localshell', 'exec']);
const CODEX_FILE_CHANGE = new Set(['filechange', 'applypatch', 'patch']);

/** The short input summary of a `tool_call` brief (protocol §8.1). */
export function toolSummary(name: string, input: unknown): string {
  let summary: string | undefined;
  switch (name) {
    case 'Bash':
      summary = field(input, 'command');
      break;
    case 'Read':
    case 'Write':
    case 'Edit':
    case 'MultiEdit':
    case 'NotebookEdit':
      summary = field(input, 'file_path', 'notebook_path');
      break;
    case 'Grep':
    case 'Glob':
      summary = field(input, 'pattern');
      break;
    case 'WebFetch':
      summary = field(input, 'url');
      break;
    default:
      if (CODEX_COMMAND.has(norm(name))) summary = field(input, 'command');
      else if (CODEX_FILE_CHANGE.has(norm(name))) summary = changedPaths(input);
  }
  return summary ?? firstString(input) ?? '';
}

/** The summary as one line of at most 200 characters. */
export function summarizeToolInput(name: string, input: unknown): string {
  return clip(oneLine(toolSummary(name, input)), 200);
}
