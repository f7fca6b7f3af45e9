/**
 * A transcript read from a thread's `thread.log` (docs/agents.md: every agent stdio line plus the worker's own
 * records): the lines a person wants to follow — their turns, the agent's text, thinking (first line only),
 * tool calls and a preview of their results, prompts, turn ends with tokens and duration, failures. The
 * parsing is pure (`transcriptLines`); `tailThreadLog` reads the file's last part and follows it.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { oneLine } from '../../core/agents/tool-summary';
import { summarizeToolInput } from '../../core/agents/answers';
import { splitEntry, type TranscriptLine } from './transcript';
import { clock, type Tone } from './view-model';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

const TONE: Record<string, Tone> = {
  you: { color: 'cyan', bold: true },
  agent: {},
  thinking: { dim: true },
  tool: { color: 'magenta' },
  result: { dim: true },
  turn: { color: 'green' },
  error: { color: 'red', bold: true },
  prompt: { color: 'yellow', bold: true },
  stderr: { dim: true },
};

function entry(ts: string, label: string, text: string, maxLines = 6): TranscriptLine[] {
  const d = new Date(ts);
  return splitEntry(Number.isFinite(d.getTime()) ? clock(d) : '', label, text, TONE[label] ?? {}, maxLines);
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b) => str(obj(b)?.text) ?? '')
    .filter(Boolean)
    .join('\n');
}

function preview(text: string, max = 160): string {
  const line = oneLine(text);
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

function turnEnd(ts: string, usage: Json | null, durationMs: number, outcome: string): TranscriptLine[] {
  const input = num(usage?.input_tokens ?? usage?.inputTokens);
  const cached = num(usage?.cache_read_input_tokens ?? usage?.cachedInputTokens);
  const output = num(usage?.output_tokens ?? usage?.outputTokens);
  const secs = durationMs ? ` · ${(durationMs / 1000).toFixed(1)}s` : '';
  return entry(ts, 'turn', `${outcome} · ${input} in / ${cached} cached / ${output} out${secs}`);
}

/** Claude Code stream-json (stdout) → lines. */
function claudeOut(ts: string, m: Json): TranscriptLine[] {
  const type = str(m.type);
  if (type === 'assistant') {
    const blocks = obj(m.message)?.content;
    if (!Array.isArray(blocks)) return [];
    return blocks.flatMap((b) => {
      const block = obj(b);
      if (!block) return [];
      if (block.type === 'text') return entry(ts, 'agent', str(block.text) ?? '');
      if (block.type === 'thinking') return entry(ts, 'thinking', preview(str(block.thinking) ?? ''), 1);
      if (block.type === 'tool_use') {
        const name = str(block.name) ?? 'tool';
        const summary = summarizeToolInput(name, block.input);
        return entry(ts, 'tool', `${name}${summary ? ` → ${summary}` : ''}`, 2);
      }
      return [];
    });
  }
  if (type === 'user') {
    const blocks = obj(m.message)?.content;
    if (!Array.isArray(blocks)) return [];
    return blocks.flatMap((b) => {
      const block = obj(b);
      if (block?.type !== 'tool_result') return [];
      const text = textOf(block.content);
      return entry(ts, 'result', `${block.is_error ? '✗ ' : ''}${preview(text) || '(no output)'}`, 1);
    });
  }
  if (type === 'result') {
    const outcome = m.is_error ? `failed (${str(m.subtype) ?? 'error'})` : 'turn done';
    return turnEnd(ts, obj(m.usage), num(m.duration_ms), outcome);
  }
  if (type === 'control_request' && obj(m.request)?.subtype === 'can_use_tool') {
    const r = obj(m.request)!;
    const name = str(r.tool_name) ?? 'tool';
    return entry(
      ts,
      'prompt',
      `approval asked: ${name}${summarizeToolInput(name, r.input) ? ` → ${summarizeToolInput(name, r.input)}` : ''}`,
      2,
    );
  }
  return [];
}

/** Codex app-server JSON-RPC (stdout) → lines. */
function codexOut(ts: string, m: Json): TranscriptLine[] {
  const method = str(m.method);
  const params = obj(m.params);
  if (method === 'item/completed') {
    const item = obj(params?.item);
    switch (str(item?.type)) {
      case 'agentMessage':
        return entry(ts, 'agent', str(item?.text) ?? '');
      case 'reasoning':
        return entry(ts, 'thinking', preview(textOf(item?.summary) || (str(item?.text) ?? '')), 1);
      case 'commandExecution':
        return [
          ...entry(ts, 'tool', `Bash → ${str(item?.command) ?? ''}`, 2),
          ...entry(ts, 'result', preview(str(item?.aggregatedOutput) ?? '') || '(no output)', 1),
        ];
      case 'fileChange':
        return entry(ts, 'tool', 'file change', 1);
      default:
        return [];
    }
  }
  if (method === 'turn/completed') {
    const turn = obj(params?.turn);
    return turnEnd(
      ts,
      obj(obj(params?.usage)?.last) ?? null,
      0,
      str(turn?.status) === 'failed' ? 'turn failed' : 'turn done',
    );
  }
  if (method === 'error') return entry(ts, 'error', preview(str(obj(params?.error)?.message) ?? 'agent error'));
  return [];
}

/** A human turn written to the agent's stdin (Claude `user` message, Codex `turn/start`). */
function stdinLine(ts: string, m: Json): TranscriptLine[] {
  if (m.type === 'user') {
    const content = obj(m.message)?.content;
    if (Array.isArray(content) && content.some((b) => obj(b)?.type === 'tool_result')) return [];
    const text = textOf(content);
    return text ? entry(ts, 'you', text) : [];
  }
  if (m.method === 'turn/start') {
    const input = obj(m.params)?.input;
    const text = Array.isArray(input) ? input.map((i) => str(obj(i)?.text) ?? '').join('\n') : '';
    return text ? entry(ts, 'you', text) : [];
  }
  return [];
}

/** One thread.log record → its display lines (most records show nothing). */
export function transcriptLines(record: Json): TranscriptLine[] {
  const ts = str(record.ts) ?? '';
  if (record.src === 'worker') {
    switch (record.event) {
      case 'thread_failed':
        return entry(ts, 'error', `${str(record.code) ?? 'FAILED'}: ${str(record.message) ?? ''}`, 3);
      case 'prompt_withdrawn':
        return entry(ts, 'prompt', 'prompt withdrawn', 1);
      default:
        return [];
    }
  }
  if (record.src !== 'agent') return [];
  const line = str(record.line);
  if (!line) return [];
  if (record.dir === 'stderr') return entry(ts, 'stderr', preview(line), 1);
  let m: Json | null;
  try {
    m = obj(JSON.parse(line));
  } catch {
    return [];
  }
  if (!m) return [];
  if (record.dir === 'stdin') return stdinLine(ts, m);
  return 'method' in m ? codexOut(ts, m) : claudeOut(ts, m);
}

/** Bytes read from the end of thread.log on open (older lines are in the file; the view keeps the newest). */
const TAIL_BYTES = 512 * 1024;

/**
 * Follows `path`: calls `listener` with the newest `limit` lines now and whenever the file grew (checked every
 * `intervalMs`). Returns the stop function. A missing file is an empty transcript until it appears.
 */
export function tailThreadLog(
  path: string,
  limit: number,
  listener: (lines: TranscriptLine[]) => void,
  intervalMs = 400,
): () => void {
  let offset = -1;
  let partial = '';
  let lines: TranscriptLine[] = [];
  const poll = (): void => {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      if (offset === -1) {
        offset = 0;
        listener([]);
      }
      return;
    }
    if (offset === -1) offset = Math.max(0, size - TAIL_BYTES);
    if (size < offset) offset = 0; // replaced by a shorter file: start over
    if (size === offset) {
      if (lines.length === 0) listener(lines);
      return;
    }
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      const read = readSync(fd, buf, 0, buf.length, offset);
      const first = offset > 0 && partial === '' && lines.length === 0;
      offset += read;
      const chunks = (partial + buf.subarray(0, read).toString('utf8')).split('\n');
      partial = chunks.pop() ?? '';
      // Reading from the middle of the file: the first piece is the end of a line cut in half.
      if (first) chunks.shift();
      const added: TranscriptLine[] = [];
      for (const c of chunks) {
        if (!c.trim()) continue;
        try {
          const rec = obj(JSON.parse(c));
          if (rec) added.push(...transcriptLines(rec));
        } catch {
          // a torn or foreign line: skipped
        }
      }
      lines = [...lines, ...added].slice(-limit);
      listener(lines);
    } finally {
      closeSync(fd);
    }
  };
  const safePoll = (): void => {
    try {
      poll();
    } catch {
      // Unreadable for now (permissions, a race with removal): try again on the next tick.
    }
  };
  safePoll();
  const timer = setInterval(safePoll, intervalMs);
  return () => clearInterval(timer);
}
