import { describe, expect, it } from 'vitest';
import { parseFrame } from '../../src/protocol/frame.js';
import { codeOf } from '../helpers/error-code.js';

describe('parseFrame', () => {
  it('accepts an array of messages and a lone message', () => {
    expect(parseFrame('[{"channel":"/a","data":1}]')).toEqual([{ channel: '/a', data: 1 }]);
    expect(parseFrame('{"channel":"/a"}')).toEqual([{ channel: '/a' }]);
    expect(parseFrame('[]')).toEqual([]);
  });

  it('turns malformed input into bad_message', () => {
    for (const bad of ['{', 'null', '[1]', '[{"data":1}]', '[{"channel":5}]', '"x"', '[[]]']) {
      expect(codeOf(() => parseFrame(bad))).toBe('bad_message');
    }
  });

  it('rejects a frame over the limit with too_large', () => {
    expect(codeOf(() => parseFrame(`[{"channel":"/a","data":"${'x'.repeat(100)}"}]`, 50))).toBe('too_large');
  });
});
