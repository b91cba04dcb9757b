// @vitest-environment jsdom
/**
 * Resource hygiene of the iframe transport, the one that touches the DOM: every
 * cycle inserts a hidden `<iframe>` and a window `message` listener, and both
 * must be gone afterwards. jsdom cannot stream a forever-frame, so the
 * in-process peer (test/helpers/hygiene-peer.ts, `frameIframes`) plays the
 * frame: it attaches each inserted iframe to the engine as a stream and posts
 * its batches to the window from the frame's own window and the endpoint's
 * origin, as the server's `<script>c("…")</script>` chunks would. Counted
 * through the `platform` option like client-cycles.test.ts; extend it the same way.
 * The loops are shorter than on the other transports because every jsdom frame
 * (a whole window) costs about 40 ms to create and remove.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { createClient, type CometClient } from '../../src/index.js';
import { countingPlatform, NOTHING, settled } from '../helpers/hygiene-platform.js';
import { PEER_URL, startPeer, ticking, type Peer } from '../helpers/hygiene-peer.js';

let peer: Peer | undefined;
let frames: { stop(): void; readonly opened: number } | undefined;
const clients: CometClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  frames?.stop();
  await peer?.close();
  peer = undefined;
  document.body.innerHTML = '';
});

function setup() {
  peer = startPeer();
  frames = peer.frameIframes(window, document);
  const counter = countingPlatform({ ...peer.platform, window, document });
  const make = () => {
    const client = createClient({
      url: PEER_URL,
      transports: ['iframe'],
      rememberTransport: false,
      reconnect: { initialDelay: 0, maxDelay: 1 },
      platform: counter.platform,
    });
    clients.push(client);
    return client;
  };
  return { peer, counter, make, frames };
}

it('leaves no iframe, window listener, timer or request after 60 iframe cycles', async () => {
  const { peer, counter, make, frames } = setup();
  for (let i = 0; i < 60; i++) {
    const client = make();
    await client.connect();
    expect(client.transport).toBe('iframe');
    expect(document.querySelectorAll('iframe')).toHaveLength(1);
    await client.subscribe('/room/a', () => {}).ready;
    await client.disconnect();
    expect(client.state).toBe('closed');
    clients.length = 0;
  }
  expect(await settled(counter)).toEqual(NOTHING);
  expect(await peer.sessions()).toEqual([]);
  expect(frames.opened).toBeGreaterThanOrEqual(60);
});

it('holds one iframe and two window listeners after 100 stream reopens, and nothing once disconnected', async () => {
  const { peer, counter, make, frames } = setup();
  const client = make();
  const { delivered } = await ticking(peer, client);
  await delivered(-1);
  const fresh = await settled(counter);
  // One frame; the `online` listener and the frame's `message` listener.
  expect(fresh).toMatchObject({ iframes: 1, listeners: 2, fetches: 0 });
  const first = document.querySelector('iframe');
  for (let i = 0; i < 100; i++) {
    peer.cut(); // the frame's document ends (`load`): the SDK opens a new frame
    await delivered(i);
  }
  expect(document.querySelector('iframe')).not.toBe(first);
  expect(frames.opened).toBeGreaterThanOrEqual(101);
  await vi.waitFor(() => expect(counter.counts()).toEqual(fresh));
  await client.disconnect();
  expect(await settled(counter)).toEqual(NOTHING);
  expect(await peer.sessions()).toEqual([]);
});
