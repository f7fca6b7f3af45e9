import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ITEM_BUDGET_BYTES, excerpt, fitToBudget, itemBytes } from '../../main/core/harness/outbound/budget';
import { textItem, thinkingItem, toolCallItem, toolResultItem } from '../../main/core/harness/outbound/items';

const MARKER = /… \[(\d+) bytes truncated; full text in thread\.log\] …/;

test('the budget is 350 × 1024 bytes', () => {
  assert.equal(ITEM_BUDGET_BYTES, 358_400);
});

test('an item within budget is returned untouched', () => {
  const item = toolResultItem('tu', 'small output\n', false);
  const fit = fitToBudget(item);
  assert.equal(fit.item, item);
  assert.equal(fit.truncated, null);
  assert.equal(item.metadata!.truncated, undefined);
});

test('1 MB tool output: cut to head + marker + tail under budget, metadata.truncated set, input not mutated', () => {
  const lines = Array.from({ length: 40_000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`);
  const output = lines.join('\n');
  assert.ok(Buffer.byteLength(output) > 1_000_000);
  const item = toolResultItem('tu_big', output, false);
  const before = itemBytes(item);
  const fit = fitToBudget(item);
  assert.ok(fit.bytes <= ITEM_BUDGET_BYTES, `${fit.bytes} > budget`);
  assert.ok(fit.bytes > ITEM_BUDGET_BYTES * 0.9, 'keeps most of the budget');
  assert.equal(itemBytes(fit.item), fit.bytes);
  assert.deepEqual(fit.item.metadata!.truncated, { original_bytes: before, fields: ['metadata.tool.output'] });
  const cut = (fit.item.metadata!.tool as { output: string }).output;
  assert.ok(cut.startsWith('line 0 '));
  assert.ok(cut.endsWith(`line 39999 ${'x'.repeat(20)}`));
  const m = MARKER.exec(cut);
  assert.ok(m, 'marker present');
  // The marker counts exactly the bytes left out.
  assert.equal(Number(m[1]) + Buffer.byteLength(cut.replace(m[0], '')), Buffer.byteLength(output));
  // The caller's item is untouched; the brief and the rest of the metadata survive.
  assert.equal((item.metadata!.tool as { output: string }).output, output);
  assert.equal(fit.item.metadata!.emission_id, item.metadata!.emission_id);
  assert.equal((fit.item.content[0] as { text: string }).text, (item.content[0] as { text: string }).text);
});

test('cuts respect UTF-8 boundaries (emoji, accents)', () => {
  const text = '😀é'.repeat(200_000);
  const fit = fitToBudget(textItem(text));
  assert.ok(fit.bytes <= ITEM_BUDGET_BYTES);
  const cut = (fit.item.content[0] as { text: string }).text;
  assert.ok(!cut.includes('\uFFFD'), 'no replacement characters');
  assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(cut), 'no lone surrogates');
  assert.deepEqual(fit.truncated!.fields, ['content[0].text']);
  for (let keep = 0; keep < 12; keep++) {
    const e = excerpt(Buffer.from('😀😀😀', 'utf8'), keep);
    assert.ok(!e.includes('\uFFFD'), `keep=${keep}: ${e}`);
    assert.match(e, MARKER);
  }
});

test('escape-heavy text (quotes, control characters) still ends under budget', () => {
  const fit = fitToBudget(textItem('"\\\n\u0001'.repeat(400_000)));
  assert.ok(fit.bytes <= ITEM_BUDGET_BYTES, String(fit.bytes));
});

test('a non-string tool input is serialized when cut; thinking cuts metadata.text', () => {
  const call = toolCallItem('Write', 'tu_w', { file_path: '/w/big.txt', content: 'z'.repeat(600_000) });
  const fit = fitToBudget(call);
  assert.ok(fit.bytes <= ITEM_BUDGET_BYTES);
  const input = (fit.item.metadata!.tool as { input: unknown }).input;
  assert.equal(typeof input, 'string');
  assert.ok((input as string).startsWith('{"file_path":"/w/big.txt"'));
  assert.equal((fit.item.content[0] as { text: string }).text, 'Write → /w/big.txt');

  const thinking = fitToBudget(thinkingItem('t'.repeat(500_000)));
  assert.deepEqual(thinking.truncated!.fields, ['metadata.text']);
  assert.ok(thinking.bytes <= ITEM_BUDGET_BYTES);
});

test('two large fields both keep text; a smaller budget works too', () => {
  const item = textItem('a'.repeat(400_000));
  item.metadata!.text = 'b'.repeat(400_000);
  const fit = fitToBudget(item);
  assert.ok(fit.bytes <= ITEM_BUDGET_BYTES);
  assert.deepEqual([...fit.truncated!.fields].sort(), ['content[0].text', 'metadata.text']);
  assert.ok((fit.item.content[0] as { text: string }).text.startsWith('aaaa'));
  assert.ok((fit.item.metadata!.text as string).startsWith('bbbb'));
  const small = fitToBudget(fit.item, 20_000);
  assert.ok(small.bytes <= 20_000);
  // A re-fit keeps the size of the very first original.
  assert.equal(small.truncated!.original_bytes, fit.originalBytes);
});

// How long the cut takes is measured by the bench, not asserted here (a loaded machine made it flaky).
test('a 20 MB tool output is cut to the budget, with the truncation recorded', () => {
  const fit = fitToBudget(toolResultItem('tu', '0123456789abcdef\n'.repeat(1_250_000), false));
  assert.ok(fit.bytes <= ITEM_BUDGET_BYTES);
  assert.ok(fit.item.metadata?.truncated, 'metadata.truncated is set');
});

test('nothing to cut: returned over budget, without a truncated marker', () => {
  const item = textItem('short');
  item.metadata!.blob = 'q'.repeat(ITEM_BUDGET_BYTES);
  const fit = fitToBudget(item);
  assert.ok(fit.bytes > ITEM_BUDGET_BYTES);
});
