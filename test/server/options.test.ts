// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, Engine, type CometServer, type ServerOptions } from '../../src/server/index.js';

const created: CometServer[] = [];
afterEach(async () => {
  for (const comet of created.splice(0)) await comet.close();
});

/** `text` as a regular expression matching it literally. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Options as a JavaScript caller (or a config file) might pass them, types aside. */
const loose = (options: Record<string, unknown>) => options as ServerOptions;

describe('server options', () => {
  it.each([
    // [option, the value as the message shows it, the value]
    ['heartbeat', '0', 0],
    ['heartbeat', '-1', -1],
    ['heartbeat', '50', 50], // its timer would tick every 12 ms
    ['heartbeat', 'NaN', Number.NaN],
    ['heartbeat', '"25s"', '25s'],
    ['heartbeat', 'null', null],
    ['timeout', '-1', -1],
    ['timeout', 'Infinity', Infinity],
    ['timeout', '2147483648', 2 ** 31],
    ['timeout', '"30000"', '30000'],
    ['interval', '-5', -5],
    ['sessionTimeout', '0', 0],
    ['backlog', '0', 0],
    ['backlog', '1.5', 1.5],
    ['backlog', 'NaN', Number.NaN],
    ['backlogChars', '0', 0],
    ['backlogChars', '"8MB"', '8MB'],
    ['maxSubscriptions', '0', 0],
    ['maxSubscriptions', '1.5', 1.5],
    ['maxSessions', '0', 0],
    ['streamLimit', '-1', -1],
    ['maxBodyBytes', '0', 0],
    ['maxBodyBytes', '"1mb"', '1mb'],
    ['maxBodyBytes', '1', 1], // every POST would be refused
    ['maxFrameChars', '0', 0],
    ['maxFrameChars', '10', 10], // no frame could carry a delivery, nor the notice of one left out
    ['path', '5', 5],
    ['path', '"cometd"', 'cometd'],
    ['path', '""', ''],
    ['allowedOrigins', '"https://app.example"', 'https://app.example'],
    ['allowedOrigins', '[5]', [5]],
    ['connectionTypes', '["long-poll"]', ['long-poll']],
    ['connectionTypes', '[]', []],
    ['connectionTypes', '"websocket"', 'websocket'],
    ['extensions', '{}', {}],
    ['extensions', '[null]', [null]],
    ['store', '5', 5],
    ['randomId', '"abc"', 'abc'],
    ['clock', '{}', {}],
    ['redis', '6379', 6379],
  ])('createServer refuses %s: %s with a bad_options CometError naming it', (option, got, value) => {
    let thrown: unknown;
    try {
      created.push(createServer(loose({ [option]: value })));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'CometError', code: 'bad_options' });
    expect((thrown as Error).message).toMatch(new RegExp(`^Expected option ${option} to be .+ but got ${literal(got)}$`));
  });

  it('refuses options that are not an object', () => {
    expect(() => createServer(null as unknown as ServerOptions)).toThrow(expect.objectContaining({ code: 'bad_options', message: 'Expected the options to be an object but got null' }));
  });

  it('refuses an option it does not know, and suggests the one it is a slip of', () => {
    const refused = (options: object) => () => createServer(options as ServerOptions);
    expect(refused({ allowedOrigin: ['https://app.example'] })).toThrow(
      expect.objectContaining({ code: 'bad_options', message: 'Expected a known option but got "allowedOrigin" (did you mean allowedOrigins?)' }),
    );
    expect(refused({ heartBeat: 1000 })).toThrow('Expected a known option but got "heartBeat" (did you mean heartbeat?)');
    expect(refused({ tiemout: 1000 })).toThrow('(did you mean timeout?)');
    expect(refused({ bogus: 1 })).toThrow(expect.objectContaining({ code: 'bad_options', message: 'Expected a known option but got "bogus"' }));
  });

  it('checks the engine options of an engine created without the server', () => {
    expect(() => new Engine(loose({ backlog: 0 }))).toThrow(expect.objectContaining({ code: 'bad_options', message: 'Expected option backlog to be a positive integer but got 0' }));
    expect(() => new Engine(loose({ backlogChars: '8MB' }))).toThrow(
      expect.objectContaining({ code: 'bad_options', message: 'Expected option backlogChars to be a positive integer but got "8MB"' }),
    );
    expect(() => new Engine(loose({ path: 5 }))).not.toThrow(); // a server option, not the engine's
  });

  it.each<[string, ServerOptions]>([
    ['no options', {}],
    ['undefined values', { heartbeat: undefined, path: undefined, timeout: undefined }],
    ['held connects answered at once', { timeout: 0, interval: 0 }],
    ['the smallest counts', { backlog: 1, backlogChars: 1, maxSubscriptions: 1, maxSessions: 1, streamLimit: 1, maxBodyBytes: 2048, maxFrameChars: 2048 }],
    ['short timers', { heartbeat: 100, sessionTimeout: 200, timeout: 5 }],
    ['the root path', { path: '/' }],
    ['any origin', { allowedOrigins: '*' }],
    ['an origin predicate', { allowedOrigins: (origin) => origin.endsWith('.example') }],
    ['a list of origins', { allowedOrigins: ['https://app.example'] }],
    ['some connection types', { connectionTypes: ['websocket', 'long-polling'] }],
    ['an extension', { extensions: [{ incoming() {} }] }],
  ])('accepts %s', (_name, options) => {
    const comet = createServer(options);
    created.push(comet);
    expect(comet.options.heartbeat).toBeGreaterThan(0);
  });

  it('refuses to attach to what is no HTTP server: nothing, a port, an Express-like app', () => {
    const comet = createServer();
    created.push(comet);
    const expressLike = Object.assign(() => {}, { on() {}, listeners: () => [], listen() {} });
    const attach = (server: unknown) => () => comet.attach(server as Parameters<CometServer['attach']>[0]);
    const expected = (got: string) => expect.objectContaining({ code: 'bad_options', message: `Expected an http.Server or https.Server (http.createServer(app) for an Express app) but got ${got}` });
    expect(attach(undefined)).toThrow(expected('undefined'));
    expect(attach(8080)).toThrow(expected('8080'));
    expect(attach(expressLike)).toThrow(expected('a function'));
    expect(attach({ on() {} })).toThrow(expected('another object'));
  });

  it('drops a trailing slash from path', () => {
    const comet = createServer({ path: '/cometd/' });
    created.push(comet);
    expect(comet.options.path).toBe('/cometd');
  });
});
