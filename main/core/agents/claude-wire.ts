/**
 * The Claude Code stream-json wire (docs/agents.md): tolerant zod schemas for the stdout lines the adapter reads.
 * Unknown types, subtypes and fields pass through or fall back to a default; a schema failure makes the line
 * skipped (logged), never a crash.
 */
import { z } from 'zod';

const num0 = z.number().catch(0);

export const SystemLine = z.looseObject({
  subtype: z.string().catch(''),
  session_id: z.string().optional().catch(undefined),
});

export const ContentBlock = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text'), text: z.string() }),
  z.looseObject({ type: z.literal('thinking'), thinking: z.string() }),
  z.looseObject({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }),
  z.looseObject({
    type: z.literal('tool_result'),
    tool_use_id: z.string(),
    content: z.unknown().optional(),
    is_error: z.boolean().optional().catch(undefined),
  }),
]);

export const MessageLine = z.looseObject({
  message: z.looseObject({ content: z.union([z.string(), z.array(z.unknown())]) }),
});

export const ResultLine = z.looseObject({
  subtype: z.string().catch('unknown'),
  is_error: z.boolean().catch(false),
  duration_ms: num0,
  total_cost_usd: z.number().optional().catch(undefined),
  stop_reason: z.string().nullable().optional().catch(null),
  terminal_reason: z.string().optional().catch(undefined),
  usage: z
    .looseObject({
      input_tokens: num0,
      cache_read_input_tokens: num0,
      cache_creation_input_tokens: num0,
      output_tokens: num0,
    })
    .catch({ input_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens: 0 }),
  errors: z.array(z.string()).optional().catch(undefined),
  result: z.string().optional().catch(undefined),
});

export const ControlRequestLine = z.looseObject({
  request_id: z.string(),
  request: z.looseObject({ subtype: z.string() }),
});

export const CanUseTool = z.looseObject({
  tool_name: z.string(),
  input: z.record(z.string(), z.unknown()).catch({}),
  tool_use_id: z.string().optional().catch(undefined),
  description: z.string().optional().catch(undefined),
  decision_reason: z.string().optional().catch(undefined),
  title: z.string().optional().catch(undefined),
  /** What the CLI would remember on "always" (docs/agents.md); only `addRules` entries are used (protocol §9.2a). */
  permission_suggestions: z.array(z.unknown()).optional().catch(undefined),
});

/** One `addRules` permission suggestion; the rules are `{toolName, ruleContent?}`. */
export const AddRulesSuggestion = z.looseObject({
  type: z.literal('addRules'),
  rules: z
    .array(z.looseObject({ toolName: z.string().min(1), ruleContent: z.string().optional().catch(undefined) }))
    .min(1),
  behavior: z.string().optional().catch(undefined),
  destination: z.string().optional().catch(undefined),
});
export type AddRulesSuggestion = z.infer<typeof AddRulesSuggestion>;

export const AskUserQuestionInput = z.looseObject({
  questions: z
    .array(
      z.looseObject({
        question: z.string(),
        header: z.string().optional().catch(undefined),
        multiSelect: z.boolean().optional().catch(false),
        options: z
          .array(z.looseObject({ label: z.string(), description: z.string().optional().catch(undefined) }))
          .catch([]),
      }),
    )
    .min(1),
});

export const ControlResponseLine = z.looseObject({
  response: z.looseObject({
    subtype: z.string(),
    request_id: z.string(),
    response: z.unknown().optional(),
    error: z.string().optional().catch(undefined),
  }),
});

export const CancelLine = z.looseObject({ request_id: z.string() });

export type ClaudeResultLine = z.infer<typeof ResultLine>;
export type ClaudeCanUseTool = z.infer<typeof CanUseTool>;
export type ClaudeAskUserQuestion = z.infer<typeof AskUserQuestionInput>;
