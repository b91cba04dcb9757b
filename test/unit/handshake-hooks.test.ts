/**
 * An extension hook that ends the session (disconnect()) while the handshake is
 * under way: from its outgoing hook, the handshake is not sent at all (the
 * server would keep a session nobody owns); from its incoming hook, the reply
 * is not acted on (the client connected regardless, closed → connected).
 */
import { expect, it } from 'vitest';
import { CometClient, type Extension } from '../../src/index.js';
import { longPollTransport } from '../../src/transports/long-poll.js';
import type { Message } from '../../src/protocol/message.js';

function run(extension: (client: { current?: CometClient }) => Extension) {
  const sent: Message[] = [];
  const fetch = (async (_url: unknown, init?: RequestInit) => {
    const batch = JSON.parse(init!.body as string) as Message[];
    sent.push(...batch);
    const m = batch[0]!;
    return Response.json([
      m.channel === '/meta/handshake'
        ? { channel: m.channel, id: m.id, successful: true, version: '1.0', clientId: 'c1', supportedConnectionTypes: ['long-polling'] }
        : { channel: m.channel, id: m.id, successful: true },
    ]);
  }) as typeof globalThis.fetch;
  const holder: { current?: CometClient } = {};
  const client = (holder.current = new CometClient({
    url: 'http://localhost/cometd',
    transports: [longPollTransport],
    rememberTransport: false,
    extensions: [extension(holder)],
    platform: { window: undefined, fetch },
  }));
  const states: string[] = [];
  client.on('state', ({ state }) => void states.push(state));
  return { client, sent, states };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

// From outgoing, the handshake goes nowhere; from incoming, it went out and nothing follows it.
it.each([
  ['outgoing', 'sends no handshake', []],
  ['incoming', 'does not act on the handshake reply', ['/meta/handshake']],
] as const)('%s: %s when the hook disconnects on it', async (hook, _, channels) => {
  const { client, sent, states } = run((c) => ({
    [hook]: (m: Message) => {
      if (m.channel === '/meta/handshake') void c.current!.disconnect();
      return m;
    },
  }));
  await expect(client.connect()).rejects.toMatchObject({ code: 'closed' });
  await settle();
  expect(client.state).toBe('closed');
  expect(client.clientId).toBeNull();
  expect(states).toEqual(['connecting', 'closed']);
  expect(sent.map((m) => m.channel)).toEqual(channels);
});
