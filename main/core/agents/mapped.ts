/** The result type of the pure wire → event mappers (claude-events.ts, codex-events.ts). */

/** A message the mapper could not read; the adapter logs it as `agent_line_skipped` with this reason. */
export interface Skipped {
  skip: string;
}

export type Mapped<T> = T | Skipped;

export function isSkipped<T>(value: Mapped<T>): value is Skipped {
  return value !== null && typeof value === 'object' && 'skip' in value && typeof value.skip === 'string';
}
