/**
 * The renderer's only way out: `window.workerApi`, exposed by the preload (typed by the IPC contract).
 * `call` unwraps the envelope, turning `{ok:false}` into an `ApiError` the views branch on by `code`.
 */
import type { IpcError, IpcResult, WorkerApi } from '../main/ipc/contract';

declare global {
  interface Window {
    workerApi: WorkerApi;
  }
}

export class ApiError extends Error {
  readonly code: string;
  readonly remediation: string | undefined;
  constructor(error: IpcError) {
    super(error.message);
    this.name = 'ApiError';
    this.code = error.code;
    this.remediation = error.remediation;
  }
}

export function api(): WorkerApi {
  return window.workerApi;
}

export async function call<T>(request: Promise<IpcResult<T>>): Promise<T> {
  const result = await request;
  if (!result.ok) throw new ApiError(result.error);
  return result.data;
}

export function errorText(e: unknown): { code: string; message: string; remediation?: string } {
  if (e instanceof ApiError)
    return { code: e.code, message: e.message, ...(e.remediation ? { remediation: e.remediation } : {}) };
  return { code: 'INTERNAL_ERROR', message: e instanceof Error ? e.message : String(e) };
}
