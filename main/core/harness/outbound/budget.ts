/**
 * The item size budget of protocol §8.2: 350 × 1024 bytes of the UTF-8 JSON of `{content, metadata}`.
 * Over budget, the largest shrinkable field is cut to head + marker + tail, repeatedly, until the item fits.
 * Every excerpt is cut from the field's ORIGINAL text, so the marker's byte count is always the true number
 * of bytes left out, however many rounds it took. Cuts land on UTF-8 character boundaries.
 */
import type { PostItemInput } from '../../api/types';
import { isRecord } from '../../json';

export const ITEM_BUDGET_BYTES = 350 * 1024;

export const truncationMarker = (bytes: number): string => `… [${bytes} bytes truncated; full text in thread.log] …`;

export interface TruncationInfo {
  original_bytes: number;
  fields: string[];
}

export interface FitResult {
  item: PostItemInput;
  /** Bytes of `{content, metadata}` as posted. */
  bytes: number;
  /** Bytes before fitting. */
  originalBytes: number;
  /** Set when something was cut (also written to `item.metadata.truncated`). */
  truncated: TruncationInfo | null;
}

export const itemBytes = (item: PostItemInput): number =>
  Buffer.byteLength(JSON.stringify({ content: item.content, metadata: item.metadata }), 'utf8');

/**
 * Shrinkable fields, in the order of protocol §8.2. The `metadata.prompt.*` ones are our addition: an approval
 * prompt for a huge Write (its input and its diff) or a huge plan would otherwise have nothing to cut and fail
 * the thread.
 */
type FieldPath =
  | 'content[0].text'
  | 'metadata.text'
  | 'metadata.tool.output'
  | 'metadata.tool.input'
  | 'metadata.prompt.tool.input'
  | 'metadata.prompt.diff'
  | 'metadata.prompt.plan';

interface Field {
  path: FieldPath;
  /** The untruncated text (a non-string value serialized as JSON). */
  original: Buffer;
  /** Bytes of `original` currently kept (head + tail). */
  keep: number;
  /** Bytes of the field's current value as a JSON string. */
  json: number;
  set(value: string): void;
}

/** Cuts `buf` to about `keep` bytes: head + marker + tail, both halves ending on character boundaries. */
export function excerpt(buf: Buffer, keep: number): string {
  if (keep >= buf.length) return buf.toString('utf8');
  let head = Math.ceil(Math.max(0, keep) / 2);
  let tailStart = buf.length - Math.floor(Math.max(0, keep) / 2);
  // Continuation bytes look like 10xxxxxx: back the head off them, move the tail start past them.
  while (head > 0 && head < buf.length && (buf[head] & 0xc0) === 0x80) head--;
  while (tailStart < buf.length && (buf[tailStart] & 0xc0) === 0x80) tailStart++;
  if (tailStart < head) tailStart = head;
  const cut = tailStart - head;
  return buf.subarray(0, head).toString('utf8') + truncationMarker(cut) + buf.subarray(tailStart).toString('utf8');
}

/**
 * Returns the item unchanged when it fits; otherwise a copy (the input is never mutated) with fields cut and
 * `metadata.truncated = {original_bytes, fields}`. An item with nothing left to cut is returned over budget;
 * the caller reports `THREAD_ITEM_TOO_LARGE` if the server refuses it.
 */
export function fitToBudget(item: PostItemInput, budgetBytes: number = ITEM_BUDGET_BYTES): FitResult {
  const originalBytes = itemBytes(item);
  if (originalBytes <= budgetBytes) return { item, bytes: originalBytes, originalBytes, truncated: null };

  // Copy only the spine we may write to; big untouched values are shared, not cloned.
  const first = item.content[0];
  const content = item.content.slice();
  if (first) content[0] = { ...first };
  const metadata: Record<string, unknown> = { ...(item.metadata ?? {}) };
  const tool = isRecord(metadata.tool) ? { ...metadata.tool } : undefined;
  if (tool) metadata.tool = tool;
  const prompt = isRecord(metadata.prompt) ? { ...metadata.prompt } : undefined;
  const promptTool = prompt && isRecord(prompt.tool) ? { ...prompt.tool } : undefined;
  if (prompt) {
    if (promptTool) prompt.tool = promptTool;
    metadata.prompt = prompt;
  }
  const work: PostItemInput = { ...item, content, metadata };

  const fields: Field[] = [];
  const add = (path: FieldPath, holder: Record<string, unknown> | undefined, key: string): void => {
    if (!holder || holder[key] === undefined) return;
    const v = holder[key];
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    if (text === undefined || text.length === 0) return;
    const original = Buffer.from(text, 'utf8');
    const f: Field = {
      path,
      original,
      keep: original.length,
      json: jsonBytes(text),
      set: (value) => {
        holder[key] = value;
        f.json = jsonBytes(value);
      },
    };
    fields.push(f);
  };
  if (first && first.type === 'text' && typeof first.text === 'string') add('content[0].text', content[0], 'text');
  if (typeof metadata.text === 'string') add('metadata.text', metadata, 'text');
  add('metadata.tool.output', tool, 'output');
  add('metadata.tool.input', tool, 'input');
  add('metadata.prompt.tool.input', promptTool, 'input');
  if (typeof prompt?.diff === 'string') add('metadata.prompt.diff', prompt, 'diff');
  if (typeof prompt?.plan === 'string') add('metadata.prompt.plan', prompt, 'plan');

  const prior = isRecord(item.metadata?.truncated) ? (item.metadata.truncated as Partial<TruncationInfo>) : undefined;
  const info: TruncationInfo = {
    // Re-fitting an already truncated item keeps the size of the very first original.
    original_bytes:
      typeof prior?.original_bytes === 'number' ? Math.max(prior.original_bytes, originalBytes) : originalBytes,
    fields: Array.isArray(prior?.fields) ? prior.fields.filter((f): f is string => typeof f === 'string') : [],
  };
  metadata.truncated = info;

  let bytes = itemBytes(work);
  // Each round strictly shrinks one field, so this ends; the cap is a second guard.
  for (let round = 0; bytes > budgetBytes && round < 200; round++) {
    const live = fields.filter((c) => c.keep > 0).sort((a, b) => b.json - a.json);
    const f = live[0];
    if (!f) break;
    if (!info.fields.includes(f.path)) info.fields.push(f.path);
    // The slack covers the path just added to `metadata.truncated.fields`.
    const excess = bytes - budgetBytes + 32;
    // JSON escaping can inflate text (quotes, control characters): scale the cut by this field's ratio.
    const rawBytes = f.keep < f.original.length ? f.keep : f.original.length;
    const ratio = rawBytes > 0 ? Math.max(1, f.json / rawBytes) : 1;
    const markerBytes = Buffer.byteLength(truncationMarker(f.original.length), 'utf8');
    // When another field is big too, cut this one only to a fair share so both keep some text.
    const fairShare = Math.min(live[1]?.json ?? 0, Math.floor(budgetBytes / (2 * live.length)));
    const targetJson = Math.max(f.json - excess, fairShare);
    const wanted = Math.floor(targetJson / ratio) - markerBytes;
    f.keep = Math.max(0, Math.min(wanted, f.keep - Math.max(1, Math.ceil(f.keep / 64))));
    f.set(excerpt(f.original, f.keep));
    bytes = itemBytes(work);
  }
  if (info.fields.length === 0) delete metadata.truncated;
  return { item: work, bytes, originalBytes, truncated: info.fields.length ? info : null };
}

const jsonBytes = (s: string): number => Buffer.byteLength(JSON.stringify(s), 'utf8');
