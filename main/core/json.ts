/** Helpers for untyped JSON from the server and from agents (tolerant reader: anything may arrive). */

export type JsonRecord = Record<string, unknown>;

/** True for a plain JSON object (not null, not an array). */
export function isRecord(v: unknown): v is JsonRecord {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The value when it is a plain object, else an empty one: for reading nested optional blocks. */
export function asRecord(v: unknown): JsonRecord {
  return isRecord(v) ? v : {};
}
