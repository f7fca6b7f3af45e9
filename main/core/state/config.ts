/**
 * config.yaml: the full v1 schema with its documented defaults (protocol §12) and the validation rules of
 * protocol §2. Validation order: YAML and types (`INVALID_CONFIG`), then each section's job type
 * (`UNKNOWN_JOB_TYPE`), then the session_agent_harness section validator (`MISSING_SESSION_KEYS`,
 * `DUPLICATE_SECTION_TARGET`). Unknown keys are reported as warnings and otherwise ignored.
 */
import { promises as fs } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { WorkerError } from '../errors';
import { describeZodError, parseYamlText } from './yaml-file';
import { AGENT_TYPES, PERMISSION_MODES, type AgentType, type SessionTuple } from './schemas';

export const SUPPORTED_JOB_TYPES = ['session_agent_harness'] as const;
const SESSION_KEYS = ['org_id', 'blob_id', 'revision_id', 'session_id'] as const;

const positiveInt = z.number().int().positive();

const AgentDefaults = z
  .object({
    executable: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    effort: z.string().min(1).optional(),
    permissions: z.enum(PERMISSION_MODES).optional(),
  })
  .nullable()
  .transform((v) => v ?? {});

/** Defaults of the `policy` block: today's documented behaviour, where the envelope decides (README Configuration). */
export const DEFAULT_POLICY: PolicyConfig = {
  envelope_executable: 'allow',
  max_permissions: 'autonomous',
  work_folder_roots: [],
};

const PolicyShape = z
  .object({
    envelope_executable: z.enum(['allow', 'deny']).default('allow'),
    max_permissions: z.enum(PERMISSION_MODES).default('autonomous'),
    work_folder_roots: z
      .array(z.string().refine((p) => isAbsolute(p), { error: 'must be an absolute path' }))
      .nullable()
      .default([])
      .transform((v) => v ?? []),
  })
  .nullable()
  .optional()
  .transform((v) => v ?? { ...DEFAULT_POLICY, work_folder_roots: [] });

/** Defaults of the `logs` block: each log file is rotated at 10 MiB and 5 rotated files are kept. */
export const DEFAULT_LOGS: LogsConfig = { max_bytes: 10 * 1024 * 1024, keep: 5 };

const LogsShape = z
  .object({
    max_bytes: z.number().int().min(4096, { error: 'must be at least 4096' }).default(DEFAULT_LOGS.max_bytes),
    keep: z.number().int().min(1).max(1000).default(DEFAULT_LOGS.keep),
  })
  .nullable()
  .optional()
  .transform((v) => v ?? { ...DEFAULT_LOGS });

const SectionShape = z.object({
  name: z.string().nullable().optional(),
  // job_type and session keys are checked by the later, more specific validators.
  job_type: z.unknown().optional(),
  session: z.record(z.string(), z.unknown()).nullable().optional(),
});

const ConfigShape = z.object({
  polling: z
    .object({
      interval_idle_ms: positiveInt.default(1500),
      interval_active_ms: positiveInt.default(3000),
      backoff_max_ms: positiveInt.default(30000),
    })
    .nullable()
    .optional()
    .transform((v) => v ?? { interval_idle_ms: 1500, interval_active_ms: 3000, backoff_max_ms: 30000 }),
  concurrency: z
    .object({ max_agents: positiveInt.default(4) })
    .nullable()
    .optional()
    .transform((v) => v ?? { max_agents: 4 }),
  agents: z
    .object({ claude_code: AgentDefaults.optional(), codex: AgentDefaults.optional() })
    .catchall(z.never({ error: 'unknown agent type (supported: claude_code, codex)' }))
    .nullable()
    .optional()
    .transform((v) => ({ claude_code: v?.claude_code ?? {}, codex: v?.codex ?? {} })),
  policy: PolicyShape,
  logs: LogsShape,
  sections: z.array(SectionShape).min(1, { error: 'at least one section is required' }),
});

export interface SectionConfig {
  /** Position in `sections`, for messages. */
  index: number;
  name: string | null;
  job_type: 'session_agent_harness';
  session: SessionTuple;
}

export interface AgentDefaultsConfig {
  executable?: string;
  model?: string;
  effort?: string;
  permissions?: 'autonomous' | 'approval';
}

/**
 * What a thread envelope may choose (any session member can write one): the operator's limits, checked at every
 * activation (docs/harness.md, "Policy").
 */
export interface PolicyConfig {
  /** `deny`: an envelope's `agent.executable` other than the configured one fails the handoff. */
  envelope_executable: 'allow' | 'deny';
  /** `approval`: an envelope asking for `autonomous` fails the handoff. */
  max_permissions: 'autonomous' | 'approval';
  /** Absolute folders a work folder must be inside (real paths compared); empty = anywhere. */
  work_folder_roots: string[];
}

/** Size rotation of thread.log, section.log and the worker's log (README Configuration; log-rotation.ts). */
export interface LogsConfig {
  max_bytes: number;
  keep: number;
}

/** The rotation options of a `logs` block. */
export const rotationOf = (logs: LogsConfig): { maxBytes: number; keep: number } => ({
  maxBytes: logs.max_bytes,
  keep: logs.keep,
});

export interface WorkerConfig {
  polling: { interval_idle_ms: number; interval_active_ms: number; backoff_max_ms: number };
  concurrency: { max_agents: number };
  agents: Record<AgentType, AgentDefaultsConfig>;
  policy: PolicyConfig;
  logs: LogsConfig;
  sections: SectionConfig[];
}

export interface LoadedConfig {
  config: WorkerConfig;
  /** Unknown keys and other things worth a warning log line. */
  warnings: string[];
}

/** Every key config.yaml knows, by block (the README's Configuration table documents each). */
export const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': ['polling', 'concurrency', 'agents', 'policy', 'logs', 'sections'],
  policy: ['envelope_executable', 'max_permissions', 'work_folder_roots'],
  logs: ['max_bytes', 'keep'],
  polling: ['interval_idle_ms', 'interval_active_ms', 'backoff_max_ms'],
  concurrency: ['max_agents'],
  agents: [...AGENT_TYPES],
  agent: ['executable', 'model', 'effort', 'permissions'],
  section: ['name', 'job_type', 'session'],
  session: [...SESSION_KEYS],
};

function unknownKeys(obj: unknown, known: readonly string[], prefix: string): string[] {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return [];
  return Object.keys(obj)
    .filter((k) => !known.includes(k))
    .map((k) => `${prefix}${prefix ? '.' : ''}${k}`);
}

function collectUnknownKeys(raw: Record<string, unknown>): string[] {
  const out = unknownKeys(raw, KNOWN_KEYS[''], '');
  out.push(...unknownKeys(raw.polling, KNOWN_KEYS.polling, 'polling'));
  out.push(...unknownKeys(raw.concurrency, KNOWN_KEYS.concurrency, 'concurrency'));
  out.push(...unknownKeys(raw.policy, KNOWN_KEYS.policy, 'policy'));
  out.push(...unknownKeys(raw.logs, KNOWN_KEYS.logs, 'logs'));
  const agents = raw.agents as Record<string, unknown> | undefined;
  for (const t of AGENT_TYPES) out.push(...unknownKeys(agents?.[t], KNOWN_KEYS.agent, `agents.${t}`));
  if (Array.isArray(raw.sections)) {
    raw.sections.forEach((s, i) => {
      out.push(...unknownKeys(s, KNOWN_KEYS.section, `sections[${i}]`));
      out.push(
        ...unknownKeys((s as Record<string, unknown> | null)?.session, KNOWN_KEYS.session, `sections[${i}].session`),
      );
    });
  }
  return out;
}

/** Validates config text. Throws a WorkerError with one of the four preflight config codes. */
export function parseConfigText(text: string, label = 'config.yaml'): LoadedConfig {
  const raw = parseYamlText(text, label, 'INVALID_CONFIG');
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new WorkerError('INVALID_CONFIG', `${label}: the top level must be a mapping with a "sections" list`);
  }
  const shaped = ConfigShape.safeParse(raw);
  if (!shaped.success) {
    throw new WorkerError('INVALID_CONFIG', `${label}: ${describeZodError(shaped.error)}`);
  }
  const warnings = collectUnknownKeys(raw as Record<string, unknown>).map((p) => `unknown key ignored: ${p}`);
  const data = shaped.data;
  if (data.policy.max_permissions === 'approval') {
    for (const t of AGENT_TYPES) {
      if (data.agents[t].permissions === 'autonomous') {
        throw new WorkerError(
          'INVALID_CONFIG',
          `${label}: agents.${t}.permissions is autonomous, above policy.max_permissions (approval)`,
        );
      }
    }
  }

  data.sections.forEach((s, i) => {
    const jt = s.job_type;
    if (typeof jt !== 'string' || !(SUPPORTED_JOB_TYPES as readonly string[]).includes(jt)) {
      const shown = jt === undefined ? 'missing' : JSON.stringify(jt);
      throw new WorkerError(
        'UNKNOWN_JOB_TYPE',
        `sections[${i}].job_type is ${shown}; supported: ${SUPPORTED_JOB_TYPES.join(', ')}`,
      );
    }
  });

  const sections: SectionConfig[] = data.sections.map((s, i) => {
    const session = s.session ?? {};
    for (const key of SESSION_KEYS) {
      const v = session[key];
      if (v === undefined || v === null || v === '') {
        throw new WorkerError('MISSING_SESSION_KEYS', `sections[${i}].session.${key} is missing`);
      }
      if (typeof v !== 'string') {
        throw new WorkerError('INVALID_CONFIG', `sections[${i}].session.${key}: expected a string`);
      }
    }
    return {
      index: i,
      name: s.name ?? null,
      job_type: 'session_agent_harness',
      session: {
        org_id: session.org_id as string,
        blob_id: session.blob_id as string,
        revision_id: session.revision_id as string,
        session_id: session.session_id as string,
      },
    };
  });

  const seen = new Map<string, number>();
  for (const s of sections) {
    const key = SESSION_KEYS.map((k) => s.session[k]).join('\u0000');
    const first = seen.get(key);
    if (first !== undefined) {
      throw new WorkerError(
        'DUPLICATE_SECTION_TARGET',
        `sections[${first}] and sections[${s.index}] target the same session ${s.session.session_id}`,
      );
    }
    seen.set(key, s.index);
  }

  return {
    config: {
      polling: data.polling,
      concurrency: data.concurrency,
      agents: data.agents,
      policy: data.policy,
      logs: data.logs,
      sections,
    },
    warnings,
  };
}

/** Reads config.yaml; a missing or unreadable file is `INVALID_CONFIG` (protocol §2). */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? 'error'})`;
    throw new WorkerError('INVALID_CONFIG', `${path} ${why}`);
  }
  return parseConfigText(text, path);
}

/** A starter config written by `login` when none exists, so a new user sees the shape to fill in. */
export const CONFIG_TEMPLATE = `# BlobHub Worker configuration. Every block is optional except "sections" (at least one entry).
# Reference (every key, type and default): README.md, section "Configuration" (README.md#configuration).
# Unknown keys are logged as warnings and ignored. Changes apply on the next start
# (or "Reload config" in the desktop app's tray menu).
polling:
  interval_idle_ms: 1500
  interval_active_ms: 3000
  backoff_max_ms: 30000
concurrency:
  max_agents: 4
agents:
  claude_code:
    executable: claude
    permissions: approval
  codex:
    executable: codex
    permissions: approval
# What a thread envelope may choose (any session member can write one). These defaults let the envelope decide.
policy:
  envelope_executable: allow    # deny: only the executables configured here run
  max_permissions: autonomous   # approval: an envelope cannot ask for autonomous
  work_folder_roots: []         # e.g. [/home/me/src]: work folders must be inside one of these
logs:
  max_bytes: 10485760           # thread.log, section.log and the worker log rotate at this size
  keep: 5                       # rotated files kept per log (thread.log.1 ... thread.log.5)
sections: []
#  - name: my-project
#    job_type: session_agent_harness
#    session:
#      org_id: org_...
#      blob_id: blb_...
#      revision_id: rev_...
#      session_id: ses_...
`;
