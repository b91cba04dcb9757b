import { describe, expect, it } from 'vitest';
import { isValidChannel, matches } from '../../src/protocol/channel.js';

describe('channel matching', () => {
  it('matches one segment with * and any depth with **', () => {
    expect(matches('/stocks/*', '/stocks/ACME')).toBe(true);
    expect(matches('/stocks/*', '/stocks/nyse/ACME')).toBe(false);
    expect(matches('/stocks/**', '/stocks/nyse/ACME')).toBe(true);
    expect(matches('/stocks/**', '/stocks')).toBe(false);
    expect(matches('/**', '/a')).toBe(true);
    expect(matches('/a', '/a')).toBe(true);
    expect(matches('/a', '/ab')).toBe(false);
    expect(matches('/a/*', '/ab/c')).toBe(false);
  });

  it('rejects malformed channel names', () => {
    for (const bad of ['', 'a', '/', '/a//b', '/a/*/b', '/a/b*', '/a b', 42, null]) {
      expect(isValidChannel(bad)).toBe(false);
    }
    for (const good of ['/a', '/a/b', '/a/*', '/a/**', '/meta/connect', '/service/x-1']) {
      expect(isValidChannel(good)).toBe(true);
    }
  });
});
