/**
 * Raw Bayeux over `fetch`, for the tests of `cometkit/testing`. They exist
 * because those tests must not depend on the client SDK (written separately):
 * each helper sends exactly what docs/wire.md describes and returns what came
 * back. Extend it with one small function per message kind, never with client
 * logic (retries, state): a test should read as the wire exchange it checks.
 */
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { createMockServer, type MockServer } from '../../src/testing/index.js';

/** The endpoint every mock test uses. */
export const URL_ = 'http://localhost/cometd';

let nextId = 0;
/** A fresh message id, as clients put on every message. */
export const id = (): string => String(++nextId);

/** POST one batch (or raw text) and return the status and the parsed replies. */
export async function post(batch: Message[] | string): Promise<{ status: number; body: Message[] }> {
  const response = await fetch(URL_, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof batch === 'string' ? batch : JSON.stringify(batch),
  });
  return { status: response.status, body: (await response.json()) as Message[] };
}

/** Handshake with the `ack` extension (unless `ack` is false) and return the clientId. */
export async function handshake(ack = true): Promise<string> {
  const { body } = await post([
    {
      channel: '/meta/handshake',
      id: id(),
      version: '1.0',
      supportedConnectionTypes: ['websocket', 'eventsource', 'long-polling', 'iframe-streaming'],
      ...(ack ? { ext: { ack: 'seq' } } : {}),
    },
  ]);
  const reply = body[0]!;
  if (!reply.successful || !reply.clientId) throw new Error(`Expected a successful handshake but got ${JSON.stringify(body)}`);
  return reply.clientId;
}

/** A `/meta/connect` message. */
export const connectMessage = (clientId: string, connectionType: string, ack?: number): Message => ({
  channel: '/meta/connect',
  id: id(),
  clientId,
  connectionType,
  ...(ack === undefined ? {} : { ext: { ack } }),
});

/** Subscribe over POST and return the reply. */
export async function subscribe(clientId: string, subscription: string): Promise<Message> {
  const { body } = await post([{ channel: '/meta/subscribe', id: id(), clientId, subscription }]);
  return body[0]!;
}

/**
 * A mock server on {@link URL_} behind msw for the whole file, for raw wire tests
 * (test/mocked/harness.ts's `useMockServer` adds SDK clients): listening before
 * the tests, its connections dropped and state reset after each (after
 * `cleanup`, which closes what the test opened itself), closed after all.
 */
export function useWireMockServer(cleanup: () => void = () => {}): MockServer {
  const mock = createMockServer({ url: URL_, timeout: 10_000 });
  const server = setupServer(...mock.handlers);
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => {
    cleanup();
    mock.dropConnections();
    mock.reset();
  });
  afterAll(async () => {
    server.close();
    await mock.close();
  });
  return mock;
}
