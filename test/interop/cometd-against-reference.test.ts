import { afterEach, describe, expect, it, vi } from 'vitest';
import { adapt } from 'cometd-nodejs-client';
import { CometD, type Message as CometDMessage } from 'cometd';
import { fleet, startServer } from '../helpers/reference-server.js';

// CometD's own JavaScript client (npm `cometd`, run in Node by the CometD project's
// `cometd-nodejs-client`, which installs XMLHttpRequest and WebSocket globals) against
// cometkit's reference server. CometD's client appends a lone meta message's type to
// the URL (`/cometd/handshake`, `/cometd/connect`, …: `appendMessageTypeToURL`, on by
// default), which the server refused with 400 until this test: no CometD client could
// even handshake.
adapt();

const { servers, stop } = fleet();
const cometds: CometD[] = [];

afterEach(async () => {
  await Promise.all(cometds.splice(0).map((c) => new Promise<void>((resolve) => (c.getStatus() === 'disconnected' ? resolve() : c.disconnect(() => resolve())))));
  await stop();
});

/** A CometD client on `transport`, handshaken; resolves with it and the handshake reply. */
async function cometd(url: string, transport: 'websocket' | 'long-polling') {
  const c = new CometD();
  cometds.push(c);
  if (transport === 'long-polling') c.unregisterTransport('websocket');
  c.configure({ url, logLevel: 'warn' });
  const reply = await new Promise<CometDMessage>((resolve) => c.handshake(resolve));
  return { c, reply };
}

describe.each(['websocket', 'long-polling'] as const)('CometD client over %s', (transport) => {
  it('handshakes, subscribes, receives a server-side sequence in order, and publishes', async () => {
    const s = await startServer({ timeout: 2000 });
    servers.push(s);
    const { c, reply } = await cometd(s.url, transport);
    expect(reply).toMatchObject({ successful: true, clientId: expect.any(String) });
    const got: number[] = [];
    const subscribed = await new Promise<CometDMessage>((resolve) => c.subscribe('/chat/room', (m) => got.push((m.data as { n: number }).n), resolve));
    expect(subscribed.successful).toBe(true);
    for (let n = 0; n < 20; n++) await s.comet.publish('/chat/room', { n });
    const published: unknown[] = [];
    s.comet.on('publish', ({ data }) => published.push(data));
    const ack = await new Promise<CometDMessage>((resolve) => c.publish('/chat/room', { n: 20 }, resolve));
    expect(ack.successful).toBe(true);
    expect(published).toEqual([{ n: 20 }]);
    await vi.waitFor(() => expect(got).toHaveLength(21));
    expect(got).toEqual([...Array(21).keys()]);
    // On the transport asked for, and still delivering after a held connect timed out on the server.
    expect(s.comet.stats().connections).toEqual(transport === 'websocket' ? { websocket: 1 } : {});
    await new Promise((r) => setTimeout(r, 2300));
    await s.comet.publish('/chat/room', { n: 21 });
    await vi.waitFor(() => expect(got.at(-1)).toBe(21));
  });

  it('leaves with /meta/disconnect, and the server forgets the session', async () => {
    const s = await startServer({ timeout: 2000 });
    servers.push(s);
    const { c } = await cometd(s.url, transport);
    await vi.waitFor(() => expect(s.comet.stats().sessions).toBe(1)); // counted once it connects
    await new Promise<void>((resolve) => c.disconnect(() => resolve()));
    await vi.waitFor(() => expect(s.comet.stats().sessions).toBe(0));
  });
});

it('still refuses a POST to any other path under the endpoint', async () => {
  const s = await startServer();
  servers.push(s);
  const response = await fetch(`${s.url}/publish`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[]' });
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual([expect.objectContaining({ error: '400::Expected a Bayeux request but got POST /cometd/publish' })]);
});
