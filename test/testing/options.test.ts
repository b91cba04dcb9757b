// @vitest-environment node
/** `createMockServer` checks its options as `createServer` does: a slip is a `bad_options` error at once. */
import { expect, it } from 'vitest';
import { createMockServer, type MockServerOptions } from '../../src/testing/index.js';

const made = (options: object) => () => createMockServer(options as MockServerOptions);

it('refuses an unknown option name, suggesting the one it is a slip of', () => {
  expect(made({ url: 'http://localhost/cometd', backLog: 5 })).toThrow(
    expect.objectContaining({ code: 'bad_options', message: 'Expected a known option but got "backLog" (did you mean backlog?)' }),
  );
  expect(made({ url: 'http://localhost/cometd', store: {} })).toThrow('Expected a known option but got "store"'); // the mock keeps its own
});

it('refuses a missing or non-http url, a non-ws wsUrl, and a bad engine option', () => {
  expect(made({})).toThrow('Expected option url to be an http(s):// URL but got undefined');
  expect(made({ url: '/cometd' })).toThrow('Expected option url to be an http(s):// URL but got "/cometd"');
  expect(made({ url: 'http://localhost/cometd', wsUrl: 'http://localhost/ws' })).toThrow('Expected option wsUrl to be a ws(s):// URL');
  expect(made({ url: 'http://localhost/cometd', backlog: 0 })).toThrow('Expected option backlog to be a positive integer but got 0');
});

it('accepts its own options and the engine\'s, and uses them', async () => {
  const mock = createMockServer({
    url: 'https://localhost/cometd',
    wsUrl: 'wss://localhost/cometd',
    timeout: 100,
    interval: 0,
    backlog: 5,
    maxFrameChars: 100_000,
    sessionTimeout: 10_000,
    extensions: [],
    connectionTypes: ['long-polling'],
  });
  const [reply] = await mock.engine.handle([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]);
  expect(reply).toMatchObject({ successful: true, supportedConnectionTypes: ['long-polling'] });
  await mock.close();
});

it('refuses connectionTypes it has no handler for, so a test cannot offer a transport nothing serves', () => {
  const expected = 'Expected option connectionTypes to be a non-empty array of websocket, eventsource, long-polling, iframe-streaming';
  expect(made({ url: 'http://localhost/cometd', connectionTypes: ['ws'] })).toThrow(expect.objectContaining({ code: 'bad_options', message: `${expected} but got ["ws"]` }));
  expect(made({ url: 'http://localhost/cometd', connectionTypes: ['long-poll'] })).toThrow(`${expected} but got ["long-poll"]`);
  expect(made({ url: 'http://localhost/cometd', connectionTypes: ['callback-polling'] })).toThrow(expected); // JSONP: msw cannot serve it
});

it('refuses a fault or an injection for a name that is no transport, naming the one a connectionType means', async () => {
  const mock = createMockServer({ url: 'http://localhost/cometd' });
  const names = 'Expected a transport name (websocket, sse, long-poll, iframe) but got';
  const loose = mock as unknown as Record<'refuse' | 'hang' | 'swallow' | 'restore', (...names: unknown[]) => void> & { inject(name: unknown, raw: unknown): void };
  expect(() => loose.refuse('websocket', 'bogus')).toThrow(expect.objectContaining({ code: 'bad_options', message: `${names} "bogus"` }));
  expect(() => loose.hang('long-polling')).toThrow(`${names} "long-polling" (did you mean long-poll?)`);
  expect(() => loose.swallow('eventsource')).toThrow(`${names} "eventsource" (did you mean sse?)`);
  expect(() => loose.restore(undefined)).toThrow(`${names} undefined`);
  expect(() => loose.inject('iframe-streaming', '[]')).toThrow(`${names} "iframe-streaming" (did you mean iframe?)`);
  expect(() => loose.inject('websocket', { channel: '/a' })).toThrow(expect.objectContaining({ code: 'bad_options', message: "Expected inject's frame to be a string but got object" }));
  // A good name still works, and restore() with none clears every fault.
  expect(() => mock.refuse('websocket', 'sse')).not.toThrow();
  expect(() => mock.restore()).not.toThrow();
  await mock.close();
});
