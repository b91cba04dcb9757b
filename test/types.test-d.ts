/**
 * The public types, tested as code (after developit/mitt's
 * test-types-compilation.ts; STYLE.md item 11). `tsc --noEmit -p tsconfig.json`
 * (part of `npm test`) compiles this file: every `expectTypeOf` must hold and
 * every `// @ts-expect-error` line must really be an error, or the type-check
 * fails. Vitest does not run it (its include is `test/**\/*.test.ts`); nothing
 * here executes, the client is only declared.
 */
import { expectTypeOf } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import {
  CometClient,
  CometError,
  createClient,
  isCometError,
  longPollTransport,
  websocketTransport,
  type ClientOptions,
  type ClientState,
  type CometErrorCode,
  type Message,
  type StateEvent,
  type Subscription,
  type TransportEvent,
  type TransportFactory,
  type TransportName,
} from '../src/index.js';
import { createServer, type CometServer, type ServerOptions } from '../src/server/index.js';
import { createMockServer } from '../src/testing/index.js';

declare const client: CometClient;

// ---- events -------------------------------------------------------------

client.on('state', (e) => {
  expectTypeOf(e).toEqualTypeOf<StateEvent>();
  expectTypeOf(e.state).toEqualTypeOf<ClientState>();
  expectTypeOf(e.previous).toEqualTypeOf<ClientState>();
});
client.on('transport', (e) => {
  expectTypeOf(e).toEqualTypeOf<TransportEvent>();
  expectTypeOf(e.transport).toEqualTypeOf<TransportName | null>();
  expectTypeOf(e.previous).toEqualTypeOf<TransportName | null>();
});
client.on('message', (m) => {
  expectTypeOf(m).toEqualTypeOf<Message>();
  expectTypeOf(m.channel).toEqualTypeOf<string>();
  expectTypeOf(m.data).toBeUnknown();
});
client.on('error', (e) => {
  expectTypeOf(e).toEqualTypeOf<CometError>();
  expectTypeOf(e.code).toEqualTypeOf<CometErrorCode>();
});
expectTypeOf(client.on('state', () => {})).toEqualTypeOf<() => void>();

// @ts-expect-error an unknown event name
client.on('open', () => {});
// @ts-expect-error a listener for another event's payload
client.on('state', (e: TransportEvent) => e);
// @ts-expect-error no such field on the state payload
client.on('state', (e) => e.transport);

// ---- subscribe / publish ------------------------------------------------

const sub = client.subscribe<{ price: number }>('/stocks/*', (data, message) => {
  expectTypeOf(data).toEqualTypeOf<{ price: number }>();
  expectTypeOf(message).toEqualTypeOf<Message>();
});
expectTypeOf(sub).toEqualTypeOf<Subscription>();
expectTypeOf(sub.ready).toEqualTypeOf<Promise<void>>();
expectTypeOf(sub.unsubscribe).returns.toEqualTypeOf<Promise<void>>();
client.subscribe('/any', (data) => expectTypeOf(data).toBeUnknown());
// @ts-expect-error the callback's data is what subscribe<T> says
client.subscribe<{ price: number }>('/stocks/*', (data: { price: string }) => data);
// @ts-expect-error a channel is a string
client.subscribe(42, () => {});
expectTypeOf(client.publish('/chat', { any: 'thing' })).toEqualTypeOf<Promise<void>>();
expectTypeOf(client.connect()).toEqualTypeOf<Promise<void>>();
expectTypeOf(client.disconnect()).toEqualTypeOf<Promise<void>>();

// ---- state, transport, stats -------------------------------------------

expectTypeOf(client.state).toEqualTypeOf<'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'closed'>();
expectTypeOf(client.transport).toEqualTypeOf<'websocket' | 'sse' | 'long-poll' | 'iframe' | null>();
expectTypeOf(client.clientId).toEqualTypeOf<string | null>();
expectTypeOf(client.stats).toEqualTypeOf<{ delivered: number; duplicates: number }>();
// @ts-expect-error state is read-only
client.state = 'connected';
// @ts-expect-error transport is read-only
client.transport = 'sse';

// ---- options ------------------------------------------------------------

expectTypeOf(createClient).parameter(0).toEqualTypeOf<ClientOptions>();
expectTypeOf(createClient({ url: 'https://example.com/cometd' })).toEqualTypeOf<CometClient>();
createClient({ url: new URL('https://example.com/cometd') });
createClient({ url: 'https://x/c', transports: ['websocket', 'sse', 'long-poll', 'iframe'] });
createClient({ url: 'https://x/c', transports: [websocketTransport, 'long-poll'] });
createClient({
  url: 'https://x/c',
  fallbackDelay: 500,
  connectTimeout: 4000,
  reconnect: { initialDelay: 100 },
  headers: { authorization: 'Bearer t' },
  extensions: [{ outgoing: (m) => m }, { incoming: () => null }],
  rememberTransport: false,
  upgradeDelay: 0,
  platform: { WebSocket: undefined, storage: { getItem: () => null, setItem: () => {} } },
});
new CometClient({ url: 'https://x/c', transports: [websocketTransport, longPollTransport] });
// In Node, the `ws` package's WebSocket fits `platform.WebSocket` as it is, without a cast.
createClient({ url: 'https://x/c', platform: { WebSocket: NodeWebSocket } });
createClient({ url: 'https://x/c', platform: { WebSocket: globalThis.WebSocket } });
const custom: TransportFactory = { ...longPollTransport };
createClient({ url: 'https://x/c', transports: [custom] });

// @ts-expect-error url is required
createClient({});
// @ts-expect-error an unknown transport name
createClient({ url: 'https://x/c', transports: ['websockets'] });
// @ts-expect-error a Bayeux connectionType is not a transport name
createClient({ url: 'https://x/c', transports: ['long-polling'] });
// @ts-expect-error fallbackDelay is a number
createClient({ url: 'https://x/c', fallbackDelay: '1' });
// @ts-expect-error connectTimeout is a number
createClient({ url: 'https://x/c', connectTimeout: '8000' });
// @ts-expect-error reconnect is an object of numbers and a jitter flag
createClient({ url: 'https://x/c', reconnect: { jitter: 'yes' } });
// @ts-expect-error an unknown option
createClient({ url: 'https://x/c', retries: 3 });
// @ts-expect-error the core class takes transport objects, not names
new CometClient({ url: 'https://x/c', transports: ['websocket'] });

// ---- errors -------------------------------------------------------------

expectTypeOf<CometErrorCode>().toEqualTypeOf<
  | 'handshake_failed'
  | 'transport_failed'
  | 'connect_failed'
  | 'publish_failed'
  | 'subscribe_denied'
  | 'unsubscribe_failed'
  | 'bad_message'
  | 'bad_channel'
  | 'bad_options'
  | 'too_large'
  | 'timeout'
  | 'closed'
  | 'listener_failed'
>();
const error = new CometError('timeout', 'Expected a connect reply but got none');
expectTypeOf(error).toExtend<Error>();
expectTypeOf(error.code).toEqualTypeOf<CometErrorCode>();
expectTypeOf(error.reply).toBeUnknown();
// @ts-expect-error not a CometErrorCode
new CometError('nope', 'x');
declare const thrown: unknown;
if (isCometError(thrown)) expectTypeOf(thrown).toEqualTypeOf<CometError>();

// ---- server -------------------------------------------------------------

expectTypeOf(createServer).parameter(0).toEqualTypeOf<ServerOptions | undefined>();
expectTypeOf(createServer()).toEqualTypeOf<CometServer>();
createServer({
  path: '/cometd',
  timeout: 30_000,
  interval: 0,
  sessionTimeout: 60_000,
  backlog: 1000,
  allowedOrigins: ['https://app.example'],
  heartbeat: 25_000,
  streamLimit: 1 << 20,
  maxBodyBytes: 1 << 20,
  redis: 'redis://127.0.0.1:6379',
  extensions: [
    {
      incoming(message) {
        expectTypeOf(message).toEqualTypeOf<Message>();
        // Server extensions change the message in place (src/server/extensions.ts); they return nothing.
        if (message.ext?.authToken !== 'secret') message.error = '403::Invalid token';
      },
      async outgoing(message, context) {
        expectTypeOf(context.clientId).toEqualTypeOf<string | null>();
        expectTypeOf(context.transport).toEqualTypeOf<string>();
        message.ext = { ...message.ext, server: 'cometkit' };
      },
    },
  ],
});
createServer({ allowedOrigins: '*' });
createServer({ allowedOrigins: (origin) => origin.endsWith('.example') });
declare const comet: CometServer;
comet.on('subscribe', (e) => expectTypeOf(e).toEqualTypeOf<{ clientId: string; subscription: string }>());
comet.on('disconnect', (e) => expectTypeOf(e.reason).toEqualTypeOf<'disconnect' | 'timeout' | 'overflow' | 'close'>());
expectTypeOf(comet.publish('/stocks/AAPL', { price: 1 })).toEqualTypeOf<Promise<void>>();

// @ts-expect-error allowedOrigins is '*', a list or a predicate
createServer({ allowedOrigins: 'https://app.example' });
// @ts-expect-error timeout is a number
createServer({ timeout: '30s' });
// @ts-expect-error an unknown option
createServer({ port: 8080 });
// @ts-expect-error an unknown server event
comet.on('connect', () => {});

// ---- testing ------------------------------------------------------------

const mock = createMockServer({ url: 'http://localhost/cometd', timeout: 1000 });
mock.refuse('websocket', 'sse');
mock.advise({ reconnect: 'none' });
mock.advise(null);
// @ts-expect-error a transport name, not a connectionType
mock.hang('eventsource');
// @ts-expect-error advice.reconnect is 'retry' | 'handshake' | 'none'
mock.advise({ reconnect: 'later' });
