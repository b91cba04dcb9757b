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
