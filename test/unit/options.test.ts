import { describe, expect, it } from 'vitest';
import { createClient, websocketTransport } from '../../src/index.js';
import { codeOf } from '../helpers/error-code.js';
import { DEFAULTS, resolveOptions } from '../../src/options.js';

describe('options', () => {
  it('rejects a missing, relative or non-http URL with bad_options', () => {
    for (const url of ['', '/cometd', 'ftp://x/cometd', 'ws://x/cometd', 'not a url']) {
      expect(codeOf(() => createClient({ url }))).toBe('bad_options');
    }
  });

  it('rejects an unknown transport name and an empty transport list', () => {
    expect(codeOf(() => createClient({ url: 'http://x/c', transports: ['carrier-pigeon' as 'sse'] }))).toBe('bad_options');
    expect(codeOf(() => createClient({ url: 'http://x/c', transports: [] }))).toBe('bad_options');
  });

  it('fills in defaults and ignores undefined values', () => {
    const o = resolveOptions({ url: 'http://x/c', transports: [websocketTransport], fallbackDelay: undefined, reconnect: { maxDelay: 5 } });
    expect(o.fallbackDelay).toBe(DEFAULTS.fallbackDelay);
    expect(o.reconnect).toEqual({ ...DEFAULTS.reconnect, maxDelay: 5 });
    expect(o.url.href).toBe('http://x/c');
  });

  it('starts a client disconnected, with no transport or session yet', () => {
    const c = createClient({ url: 'http://127.0.0.1:1/cometd' });
    expect([c.state, c.transport, c.clientId]).toEqual(['disconnected', null, null]);
  });
});
