// @vitest-environment jsdom
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ws } from 'msw';
import { setupServer } from 'msw/node';
import { websocketTransport } from '../../src/transports/websocket.js';
import { resolvePlatform } from '../../src/platform.js';
import { callCount, context, delivered, frame, makeSink } from './helpers.js';

type Client = Parameters<Parameters<ReturnType<typeof ws.link>['addEventListener']>[1]>[0]['client'];

const link = ws.link('ws://localhost/cometd');
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Serve the endpoint; resolves with the first connected client. */
function serve(onClient: (client: Client) => void = () => {}): Promise<Client> {
  return new Promise((resolve) =>
    server.use(
      link.addEventListener('connection', ({ client }) => {
        onClient(client);
        resolve(client);
      }),
    ),
  );
}

function open(overrides: Parameters<typeof context>[0] = {}) {
  const s = makeSink();
  const t = websocketTransport.create();
  t.open(context(overrides), s);
  return { s, t };
}

describe('websocketTransport', () => {
  it('names the websocket connection type and needs a WebSocket constructor', () => {
    expect(websocketTransport.connectionType).toBe('websocket');
    expect(websocketTransport.isSupported(resolvePlatform())).toBe(true);
    expect(websocketTransport.isSupported({ ...resolvePlatform(), WebSocket: undefined })).toBe(false);
  });

  it('connects to the endpoint path and query with ws: or wss:', () => {
    const urls: string[] = [];
    const FakeSocket = function (this: object, url: string) {
      urls.push(url);
    } as unknown as typeof WebSocket;
    for (const url of ['http://h:8080/cometd?a=1', 'https://h/x/cometd']) {
      websocketTransport.create().open(context({ url: new URL(url) }, { WebSocket: FakeSocket }), makeSink());
    }
    expect(urls).toEqual(['ws://h:8080/cometd?a=1', 'wss://h/x/cometd']);
  });

  it('reports onOpen, sends batches as JSON text and delivers a batch in order', async () => {
    const sent = vi.fn();
    const client = serve((c) => c.addEventListener('message', (e) => sent(e.data)));
    const { s, t } = open();
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledOnce());
    t.send([{ channel: '/meta/connect', id: '1' }]);
    await vi.waitFor(() => expect(sent).toHaveBeenCalledWith('[{"channel":"/meta/connect","id":"1"}]'));
    (await client).send(frame('/meta/connect', '/a', '/b'));
    (await client).send(frame('/c'));
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/meta/connect', '/a', '/b', '/c']));
    expect(s.onMessages).toHaveBeenCalledTimes(2);
  });

  it('reports a malformed or binary frame as bad_message and stays usable', async () => {
    const client = serve();
    const { s } = open();
    (await client).send('{oops');
    (await client).send(new Blob(['[]']));
    (await client).send(frame('/after'));
    await vi.waitFor(() => expect(delivered(s)).toEqual(['/after']));
    expect(s.onError.mock.calls.map(([e]) => e.code)).toEqual(['bad_message', 'bad_message']);
    expect(s.onClose).not.toHaveBeenCalled();
  });

  it('reports an oversized frame as too_large', async () => {
    const client = serve();
    const { s } = open({ maxMessageChars: 50 });
    (await client).send(frame('/x'.repeat(40)));
    await vi.waitFor(() => expect(s.onError).toHaveBeenCalledOnce());
    expect(s.onError.mock.calls[0]![0].code).toBe('too_large');
  });

  it('reports onClose once when the server closes the socket', async () => {
    const client = serve();
    const { s } = open();
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledOnce());
    (await client).close(1011, 'bye');
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(s.onClose.mock.calls[0]![0].code).toBe('transport_failed');
  });

  it('reports onClose, after open returns, when the constructor throws', async () => {
    const Blocked = function () {
      throw new DOMException("Refused to connect: violates connect-src", 'SecurityError');
    } as unknown as typeof WebSocket;
    const s = makeSink();
    const t = websocketTransport.create();
    t.open(context({}, { WebSocket: Blocked }), s);
    expect(s.onClose).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(s.onClose.mock.calls[0]![0].code).toBe('transport_failed');
    expect(() => t.send([{ channel: '/x' }])).not.toThrow();
  });

  it('reports nothing when closed right after a failed open', async () => {
    const Blocked = function () {
      throw new Error('blocked');
    } as unknown as typeof WebSocket;
    const s = makeSink();
    const t = websocketTransport.create();
    t.open(context({}, { WebSocket: Blocked }), s);
    t.close();
    await new Promise<void>((r) => setTimeout(r, 0));
    expect(callCount(s)).toBe(0);
  });

  it('closes the socket on close and calls the sink no more', async () => {
    const serverSide = vi.fn();
    const clientSide = vi.fn();
    serve((c) => c.addEventListener('close', serverSide));
    // Watch the socket's own close event: it must reach the transport and be ignored.
    const Base = globalThis.WebSocket;
    class Watched extends Base {
      constructor(url: string | URL) {
        super(url);
        this.addEventListener('close', clientSide);
      }
    }
    const s = makeSink();
    const t = websocketTransport.create();
    t.open(context({}, { WebSocket: Watched }), s);
    await vi.waitFor(() => expect(s.onOpen).toHaveBeenCalledOnce());
    t.close();
    await vi.waitFor(() => expect(serverSide).toHaveBeenCalledOnce());
    await vi.waitFor(() => expect(clientSide).toHaveBeenCalledOnce());
    await new Promise<void>((r) => setTimeout(r, 0));
    expect(callCount(s)).toBe(1);
  });
});
