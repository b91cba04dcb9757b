import { describe, expect, it, vi } from 'vitest';
import type { CometError } from '../../src/errors.js';
import { MAX_FRAME_CHARS, parseFrame } from '../../src/protocol/frame.js';
import { codeOf } from '../helpers/error-code.js';

/** Parse `text`, collecting the elements reported as bad. */
function parse(text: string, maxChars = MAX_FRAME_CHARS) {
  const bad: CometError[] = [];
  return { messages: parseFrame(text, maxChars, (e) => bad.push(e)), bad };
}

describe('parseFrame', () => {
  it('returns a frame of messages as parsed, without a copy (it runs for every frame)', () => {
    const parsed = vi.spyOn(JSON, 'parse');
    try {
      const { messages } = parse('[{"channel":"/a","data":1},{"channel":"/b"}]');
      // [value].flat() and filter() copied every frame: ~600 B more per one-message frame.
      expect(messages).toBe(parsed.mock.results[0]!.value);
    } finally {
      parsed.mockRestore();
    }
  });

  it('accepts an array of messages and a lone message', () => {
    expect(parse('[{"channel":"/a","data":1}]')).toEqual({ messages: [{ channel: '/a', data: 1 }], bad: [] });
    expect(parse('{"channel":"/a"}')).toEqual({ messages: [{ channel: '/a' }], bad: [] });
    expect(parse('[]')).toEqual({ messages: [], bad: [] });
  });

  it('throws bad_message for a frame that is not JSON', () => {
    for (const bad of ['{', '[{"channel":"/a"}', '']) expect(codeOf(() => parse(bad))).toBe('bad_message');
    expect(() => parse('<html>502</html>')).toThrow(/^Not JSON \(Unexpected token .* is not valid JSON\)$/); // JSON.parse's reason
  });

  it('leaves out each element that is not a message, reporting it as bad_message, and keeps the others', () => {
    for (const element of ['null', '1', '{"data":1}', '{"channel":5}', '"x"', '[]']) {
      const { messages, bad } = parse(`[{"channel":"/a","data":1},${element},{"channel":"/b"}]`);
      expect(messages).toEqual([{ channel: '/a', data: 1 }, { channel: '/b' }]);
      expect(bad).toEqual([expect.objectContaining({ code: 'bad_message', reply: JSON.parse(element) })]);
    }
    // A lone value that is not a message is one bad element.
    expect(parse('null')).toEqual({ messages: [], bad: [expect.objectContaining({ code: 'bad_message', reply: null })] });
  });

  it('rejects a frame over the limit with too_large', () => {
    expect(codeOf(() => parse(`[{"channel":"/a","data":"${'x'.repeat(100)}"}]`, 50))).toBe('too_large');
  });
});
