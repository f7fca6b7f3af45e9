/**
 * A scripted Anthropic Messages API on 127.0.0.1 for driving the REAL Claude Code CLI in tests (the way the
 * fixtures in test/fixtures/agents were captured). It answers `POST /v1/messages` with the streaming SSE event
 * sequence of the real API (message_start, content_block_start/delta/stop, message_delta, message_stop), or a
 * plain JSON message when the request does not ask for a stream. The model side is a script: the test says
 * what the "model" answers to a user text, and what it says after a tool result. Nothing leaves 127.0.0.1.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type MockBlock =
  { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string };

/** What the scripted model knows about one request. */
export interface MockRequestView {
  /** The last user message's text blocks, joined (system reminders included, as Claude Code sends them). */
  lastUserText: string;
  /** tool_result blocks of the last user message (present after a tool ran or was denied). */
  toolResults: Array<{ tool_use_id: string; content: string; is_error: boolean }>;
  /** Every user text of the conversation, oldest first. */
  userTexts: string[];
  /** The text of the user message that started this turn (the last one that is not only tool results). */
  turnText: string;
  /** How many assistant messages this turn has had so far (0 = the first answer to the user's text). */
  step: number;
  model: string;
  stream: boolean;
  /** True for the CLI's side queries (a tiny max_tokens, no tools): titles, command prefixes and so on. */
  sideQuery: boolean;
  body: Record<string, unknown>;
}

/** The script: the blocks the model answers with; `null` = the default (a short text). */
export type MockScript = (request: MockRequestView) => MockBlock[] | null;

export interface AnthropicMock {
  /** `http://127.0.0.1:<port>` for ANTHROPIC_BASE_URL. */
  readonly url: string;
  /** Every request seen, in order (path + parsed body), for assertions. */
  readonly requests: Array<{ path: string; body: Record<string, unknown> | null }>;
  close(): Promise<void>;
}

function blockText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b: { type?: string; text?: string }) => (b && b.type === 'text' ? String(b.text ?? '') : ''))
    .filter(Boolean)
    .join('\n');
}

function viewOf(body: Record<string, unknown>): MockRequestView {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: string; content?: unknown }>) : [];
  const users = messages.filter((m) => m.role === 'user');
  const last = users.at(-1);
  const toolResults = Array.isArray(last?.content)
    ? (last.content as Array<Record<string, unknown>>)
        .filter((b) => b.type === 'tool_result')
        .map((b) => ({
          tool_use_id: String(b.tool_use_id),
          content: blockText(b.content) || (typeof b.content === 'string' ? b.content : ''),
          is_error: b.is_error === true,
        }))
    : [];
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const isTurnStart = (m: { role?: string; content?: unknown }): boolean =>
    m.role === 'user' &&
    (typeof m.content === 'string' ||
      (Array.isArray(m.content) && (m.content as Array<{ type?: string }>).every((b) => b.type !== 'tool_result')));
  let start = -1;
  messages.forEach((m, i) => {
    if (isTurnStart(m)) start = i;
  });
  const step = messages.slice(start + 1).filter((m) => m.role === 'assistant').length;
  return {
    turnText: start >= 0 ? blockText(messages[start].content) : '',
    step,
    lastUserText: blockText(last?.content),
    toolResults,
    userTexts: users.map((m) => blockText(m.content)).filter(Boolean),
    model: typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5',
    stream: body.stream === true,
    sideQuery: tools.length === 0 && typeof body.max_tokens === 'number' && body.max_tokens <= 1024,
    body,
  };
}

let counter = 0;

function sse(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function reply(res: ServerResponse, view: MockRequestView, blocks: MockBlock[]): void {
  const id = `msg_mock_${++counter}`;
  const withIds = blocks.map((b) => (b.type === 'tool_use' ? { ...b, id: b.id ?? `toolu_mock_${++counter}` } : b));
  const stopReason = withIds.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  const usage = { input_tokens: 120, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  if (!view.stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${id}` });
    res.end(
      JSON.stringify({
        id,
        type: 'message',
        role: 'assistant',
        model: view.model,
        content: withIds,
        stop_reason: stopReason,
        stop_sequence: null,
        usage,
      }),
    );
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'request-id': `req_${id}`,
  });
  sse(res, 'message_start', {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model: view.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 1 },
    },
  });
  withIds.forEach((b, index) => {
    if (b.type === 'text') {
      sse(res, 'content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'text', text: '' },
      });
      sse(res, 'content_block_delta', {
        type: 'content_block_delta',
        index,
        delta: { type: 'text_delta', text: b.text },
      });
    } else {
      sse(res, 'content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} },
      });
      sse(res, 'content_block_delta', {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) },
      });
    }
    sse(res, 'content_block_stop', { type: 'content_block_stop', index });
  });
  sse(res, 'message_delta', {
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  });
  sse(res, 'message_stop', { type: 'message_stop' });
  res.end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts the mock on 127.0.0.1 (port 0). */
export async function startAnthropicMock(script: MockScript): Promise<AnthropicMock> {
  const requests: AnthropicMock['requests'] = [];
  const server: Server = createServer((req, res) => {
    readBody(req).then(
      (raw) => {
        let body: Record<string, unknown> | null;
        try {
          body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
        } catch {
          body = null;
        }
        const path = (req.url ?? '/').split('?')[0];
        requests.push({ path, body });
        if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ input_tokens: 120 }));
          return;
        }
        if (req.method !== 'POST' || path !== '/v1/messages' || !body) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `no ${path}` } }));
          return;
        }
        const view = viewOf(body);
        let blocks: MockBlock[] | null;
        try {
          blocks = script(view);
        } catch (e) {
          blocks = [{ type: 'text', text: `mock script failed: ${(e as Error).message}` }];
        }
        reply(res, view, blocks ?? [{ type: 'text', text: view.toolResults.length ? 'Done.' : 'OK.' }]);
      },
      () => {
        res.writeHead(400);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
