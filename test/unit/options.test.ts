import { describe, expect, it, vi } from 'vitest';
import { CometClient, createClient, websocketTransport, type CometError, type Extension } from '../../src/index.js';
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

  it('rejects a maxMessageChars below 2,048 (a server notice of a message left out must fit) with bad_options', () => {
    expect(codeOf(() => createClient({ url: 'http://x/c', maxMessageChars: 2047 }))).toBe('bad_options');
    expect(() => createClient({ url: 'http://x/c', maxMessageChars: 100 })).toThrow('Expected maxMessageChars of at least 2048 but got 100');
    expect(createClient({ url: 'http://x/c', maxMessageChars: 2048 }).state).toBe('disconnected');
  });

  it('fills in defaults and ignores undefined values', () => {
    const o = resolveOptions({ url: 'http://x/c', transports: [websocketTransport], connectTimeout: undefined, reconnect: { maxDelay: 5 } });
    expect(o.connectTimeout).toBe(DEFAULTS.connectTimeout);
    expect(o.reconnect).toEqual({ ...DEFAULTS.reconnect, maxDelay: 5 });
    expect(o.url.href).toBe('http://x/c');
  });

  it('fills in reconnect defaults for undefined fields too (an undefined maxDelay would make every delay NaN: no wait at all)', () => {
    const o = resolveOptions({ url: 'http://x/c', transports: [websocketTransport], reconnect: { maxDelay: undefined, factor: 3 } });
    expect(o.reconnect).toEqual({ ...DEFAULTS.reconnect, factor: 3 });
  });

  it('rejects a transports value that is not a list of transports with bad_options', () => {
    expect(codeOf(() => new CometClient({ url: 'http://x/c', transports: 'websocket' as unknown as [] }))).toBe('bad_options');
    expect(() => createClient({ url: 'http://x/c', transports: [42 as unknown as 'sse'] })).toThrow('Expected a transport name but got 42');
    expect(codeOf(() => createClient({ url: 'http://x/c', transports: [{} as unknown as 'sse'] }))).toBe('bad_options');
  });

  it('refuses a lone transport name or a set (plain JavaScript) as not a list, naming what it got', () => {
    expect(() => createClient({ url: 'http://x/c', transports: 'long-poll' as unknown as ['long-poll'] })).toThrow('Expected a list of transports but got "long-poll"');
    expect(codeOf(() => createClient({ url: 'http://x/c', transports: new Set(['sse']) as unknown as ['sse'] }))).toBe('bad_options');
    expect(() => createClient({ url: 'http://x/c', transports: [] })).toThrow('Expected a list of transports but got []');
    expect(() => createClient({ url: 'http://x/c', transports: ['carrier-pigeon' as 'sse'] })).toThrow('Expected a transport name but got "carrier-pigeon"');
  });

  it('refuses one extension passed as itself (plain JavaScript) as not a list, at construction rather than as a TypeError from connect()', () => {
    const extension: Extension = { outgoing: (m) => m };
    expect(() => createClient({ url: 'http://x/c', extensions: extension as never })).toThrow(expect.objectContaining({ code: 'bad_options', message: 'Expected a list of extensions but got {}' }));
    expect(codeOf(() => new CometClient({ url: 'http://x/c', transports: [websocketTransport], extensions: 'auth' as never }))).toBe('bad_options');
    // `useAuth && [auth]` when useAuth is false; null, like undefined, means the default.
    expect(() => createClient({ url: 'http://x/c', extensions: false as never })).toThrow('Expected a list of extensions but got false');
    expect(createClient({ url: 'http://x/c', extensions: null as never }).state).toBe('disconnected');
    expect(createClient({ url: 'http://x/c', extensions: [extension] }).state).toBe('disconnected');
  });

  it('fails the request, not connect() itself, when platform.fetch throws (plain JavaScript: not a function), and retries', async () => {
    const client = createClient({ url: 'http://x/c', transports: ['long-poll'], platform: { fetch: 5 as never }, reconnect: { initialDelay: 10, maxDelay: 10 } });
    const errors: CometError[] = [];
    client.on('error', (e) => void errors.push(e));
    const connecting = client.connect();
    expect(connecting).toBeInstanceOf(Promise);
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2));
    expect(errors[0]).toMatchObject({ code: 'transport_failed', message: 'Request failed', cause: expect.any(TypeError) });
    expect(client.state).toBe('reconnecting');
    await client.disconnect();
    await expect(connecting).rejects.toMatchObject({ code: 'closed' });
  });

  it('reports a missing options object (plain JavaScript) as a missing url, not a TypeError', () => {
    const none = undefined as unknown as { url: string };
    expect(() => createClient(none)).toThrow('Expected an absolute http(s) URL but got undefined');
    expect(codeOf(() => new CometClient(none as never))).toBe('bad_options');
    // null too (it was a TypeError from the class, reading null's url).
    expect(() => new CometClient(null as never)).toThrow('Expected an absolute http(s) URL but got undefined');
    expect(() => createClient(null as never)).toThrow('Expected an absolute http(s) URL but got undefined');
  });

  it('resolves a relative url against the page (a browser, where there is a location), but never an empty one', () => {
    vi.stubGlobal('location', new URL('https://app.example/room/7?x=1')); // stringifies to its href, as a Location does
    try {
      expect(resolveOptions({ url: '/cometd', transports: [websocketTransport] }).url.href).toBe('https://app.example/cometd');
      expect(resolveOptions({ url: 'push/cometd', transports: [websocketTransport] }).url.href).toBe('https://app.example/room/push/cometd');
      for (const url of ['', undefined, null]) expect(codeOf(() => createClient({ url: url as unknown as string }))).toBe('bad_options');
      expect(codeOf(() => createClient({ url: 'ftp://x/cometd' }))).toBe('bad_options');
    } finally {
      vi.unstubAllGlobals();
    }
    expect(codeOf(() => createClient({ url: '/cometd' }))).toBe('bad_options'); // Node: no page to be relative to
  });

  it('refuses a delay that is not a number of ms a timer can wait (plain JavaScript), naming the option', () => {
    const url = 'http://x/c';
    expect(() => createClient({ url, connectTimeout: '5000' as unknown as number })).toThrow('Expected connectTimeout as a number from 0 to 2^31 - 1 but got "5000"');
    // A timer fires at once for each of these: every connect would time out, or reconnects would not wait.
    for (const bad of [Infinity, -1, NaN, 2 ** 31, '', true, {}]) {
      expect(codeOf(() => createClient({ url, connectTimeout: bad as number }))).toBe('bad_options');
    }
    expect(() => createClient({ url, fallbackDelay: -5 })).toThrow('Expected fallbackDelay as a number from 0 to 2^31 - 1 but got -5');
    expect(() => createClient({ url, upgradeDelay: Infinity })).toThrow('Expected upgradeDelay as a number from 0 to 2^31 - 1 but got Infinity');
    expect(() => createClient({ url, reconnect: { initialDelay: 'soon' as unknown as number } })).toThrow('Expected initialDelay as a number');
    expect(() => new CometClient({ url, transports: [websocketTransport], reconnect: { maxDelay: NaN } })).toThrow('Expected maxDelay as a number');
    // The whole range is allowed, 0 ("never" for upgradeDelay) and 2^31 - 1 included; so is undefined.
    const o = resolveOptions({ url, transports: [websocketTransport], connectTimeout: 2 ** 31 - 1, upgradeDelay: 0, fallbackDelay: undefined, reconnect: { initialDelay: 0, maxDelay: 1.5 } });
    expect([o.connectTimeout, o.upgradeDelay, o.fallbackDelay, o.reconnect.initialDelay, o.reconnect.maxDelay]).toEqual([2 ** 31 - 1, 0, undefined, 0, 1.5]);
    // reconnect's factor too: NaN or a negative one makes every backoff NaN or negative, which a timer fires at once.
    for (const factor of [NaN, -2, '2']) expect(codeOf(() => createClient({ url, reconnect: { factor: factor as number } }))).toBe('bad_options');
    // null is "not given" (plain JavaScript): the default, as undefined.
    const nulls = resolveOptions({ url, transports: [websocketTransport], connectTimeout: null, upgradeDelay: null, fallbackDelay: null, headers: null, reconnect: { initialDelay: null } } as never);
    expect([nulls.connectTimeout, nulls.upgradeDelay, nulls.fallbackDelay, nulls.headers, nulls.reconnect.initialDelay]).toEqual([DEFAULTS.connectTimeout, DEFAULTS.upgradeDelay, undefined, {}, DEFAULTS.reconnect.initialDelay]);
    // Options that are not delays are not checked here: a limit may be Infinity.
    expect(resolveOptions({ url, transports: [websocketTransport], streamCharLimit: Infinity }).streamCharLimit).toBe(Infinity);
  });

  it('starts a client disconnected, with no transport or session yet', () => {
    const c = createClient({ url: 'http://127.0.0.1:1/cometd' });
    expect([c.state, c.transport, c.clientId]).toEqual(['disconnected', null, null]);
  });
});
