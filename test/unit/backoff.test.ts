import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/backoff.js';

const o = { initialDelay: 100, maxDelay: 1000, factor: 2, jitter: false };

describe('backoffDelay', () => {
  it('grows exponentially and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, o))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('applies full jitter: a uniform share of the capped delay', () => {
    expect(backoffDelay(2, { ...o, jitter: true }, () => 0)).toBe(0);
    expect(backoffDelay(2, { ...o, jitter: true }, () => 0.5)).toBe(200);
    expect(backoffDelay(20, { ...o, jitter: true }, () => 0.999)).toBe(999);
  });
});
