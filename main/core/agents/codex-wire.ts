/**
 * The Codex app-server wire (docs/agents.md): JSON-RPC envelopes without the "jsonrpc" member, item and turn
 * notifications, and the server→client requests the adapter answers. Tolerant zod schemas: unknown fields
 * pass through, odd values fall back to a default, a schema failure makes the message skipped (logged).
 */
import { z } from 'zod';

const RpcId = z.union([z.number(), z.string()]);
export const Envelope = z.looseObject({
  id: RpcId.optional(),
  method: z.string().optional(),
  params: z.unknown().optional(),
  result: z.unknown().optional(),
  error: z.looseObject({ code: z.number().optional().catch(undefined), message: z.string().catch('') }).optional(),
});

const optStr = z.string().nullable().optional().catch(undefined);

export const Change = z.looseObject({
  path: z.string(),
  kind: z
    .union([z.string(), z.looseObject({ type: z.string() })])
    .optional()
    .catch(undefined),
  diff: optStr,
});

export const Item = z.looseObject({ type: z.string(), id: z.string() });
export const CommandItem = z.looseObject({
  command: z.string().catch(''),
  cwd: optStr,
  status: optStr,
  aggregatedOutput: optStr,
  exitCode: z.number().nullable().optional().catch(undefined),
});
export const FileChangeItem = z.looseObject({ changes: z.array(Change).catch([]), status: optStr });
export const McpItem = z.looseObject({
  server: z.string().catch(''),
  tool: z.string().catch(''),
  arguments: z.unknown().optional(),
  status: optStr,
  result: z.unknown().optional(),
  error: z
    .looseObject({ message: z.string().catch('') })
    .nullable()
    .optional()
    .catch(undefined),
});
export const TextList = z.array(z.unknown()).catch([]);

export const ItemParams = z.looseObject({ item: z.looseObject({}), turnId: optStr });
export const TurnParams = z.looseObject({
  turn: z.looseObject({
    id: z.string(),
    status: z.string().catch('unknown'),
    durationMs: z.number().nullable().optional().catch(undefined),
    error: z
      .looseObject({ message: z.string().catch('') })
      .nullable()
      .optional()
      .catch(undefined),
  }),
});
export const TokenUsageParams = z.looseObject({
  turnId: optStr,
  tokenUsage: z.looseObject({
    last: z.looseObject({
      inputTokens: z.number().catch(0),
      cachedInputTokens: z.number().catch(0),
      outputTokens: z.number().catch(0),
    }),
  }),
});
export const ThreadResult = z.looseObject({ thread: z.looseObject({ id: z.string() }) });
export const TurnStartResult = z.looseObject({ turn: z.looseObject({ id: z.string() }) });

export const CommandApproval = z.looseObject({
  itemId: z.string().catch(''),
  command: optStr,
  cwd: optStr,
  reason: optStr,
});
export const FileApproval = z.looseObject({ itemId: z.string().catch(''), reason: optStr });
export const LegacyExecApproval = z.looseObject({
  callId: z.string().catch(''),
  command: z.union([z.array(z.string()), z.string()]).catch(''),
  cwd: optStr,
  reason: optStr,
});
export const LegacyPatchApproval = z.looseObject({
  callId: z.string().catch(''),
  fileChanges: z.record(z.string(), z.unknown()).catch({}),
  reason: optStr,
});
export const UserInputRequest = z.looseObject({
  questions: z
    .array(
      z.looseObject({
        id: z.string(),
        question: z.string(),
        header: optStr,
        options: z
          .array(z.looseObject({ label: z.string(), description: optStr }))
          .nullable()
          .optional()
          .catch(null),
      }),
    )
    .min(1),
});

export type CodexChange = z.infer<typeof Change>;

/** What answering a server request needs: its JSON-RPC id and which answer shape the method expects. */
export type CodexWire =
  | { requestId: string | number; style: 'v2' | 'legacy' }
  | { requestId: string | number; style: 'userInput'; questionIds: Record<string, string> };
