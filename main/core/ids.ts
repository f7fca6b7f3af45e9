/** Identifiers the worker mints: ULID-based, prefixed like the docs' examples (`ins_01J…`, `em_…`, `pr_…`). */
import { monotonicFactory } from 'ulid';
import { randomUUID } from 'node:crypto';

const nextUlid = monotonicFactory();

export const newInstanceId = (): string => `ins_${nextUlid()}`;
export const newEmissionId = (): string => `em_${nextUlid()}`;
export const newPromptId = (): string => `pr_${nextUlid()}`;
/** Claude Code's `--session-id` must be a UUID. */
export const newUuid = (): string => randomUUID();
export const ulid = (): string => nextUlid();
