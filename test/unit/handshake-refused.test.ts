/**
 * A handshake the server refuses ends the client with one `handshake_failed`
 * error, however many requests were waiting for the session: each of them
 * rejects with that error, but the `error` event reports it once.
 */
import { expect, it } from 'vitest';
import { CometClient, type CometError } from '../../src/index.js';
import { longPollTransport } from '../../src/transports/long-poll.js';

it('reports a refused handshake once, also with subscriptions and a publish waiting for it', async () => {
  const client = new CometClient({
    url: 'http://localhost/cometd',
    transports: [longPollTransport],
    rememberTransport: false,
    platform: { window: undefined, fetch: (async () => new Response('Not here', { status: 404, statusText: 'Not Found' })) as typeof fetch },
  });
  const errors: CometError[] = [];
  client.on('error', (e) => void errors.push(e));
  const a = client.subscribe('/a', () => {});
  const b = client.subscribe('/b', () => {});
  const published = client.publish('/a', 1);
  await expect(client.connect()).rejects.toMatchObject({ code: 'handshake_failed' });
  await expect(a.ready).rejects.toMatchObject({ code: 'handshake_failed' });
  await expect(b.ready).rejects.toMatchObject({ code: 'handshake_failed' });
  await expect(published).rejects.toMatchObject({ code: 'handshake_failed' });
  expect(errors.map((e) => e.code)).toEqual(['handshake_failed']);
  expect(client.state).toBe('closed');
});
