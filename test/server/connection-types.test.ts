// @vitest-environment node
// `connectionTypes` closes what it leaves out at the door, not only in handshake replies.
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, handshake, iframeStreamUrl, openSocket, post, start } from './helpers.js';

afterEach(closeAll);

describe('a connection type left out of connectionTypes', () => {
  it('is neither offered in the handshake nor served at its entry point', async () => {
    const { url } = await start({ connectionTypes: ['long-polling'] });
    const hello = await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling', 'websocket'] }]);
    expect(hello.body[0]!.supportedConnectionTypes).toEqual(['long-polling']);
    const clientId = hello.body[0]!.clientId!;

    const jsonp = await fetch(`${url}?message=${encodeURIComponent(JSON.stringify([{ channel: '/meta/connect', clientId, connectionType: 'callback-polling' }]))}&jsonp=cb`);
    expect(jsonp.status).toBe(400);
    expect(await jsonp.json()).toEqual([expect.objectContaining({ error: '400::Connection type callback-polling is not offered' })]);

    const sse = await fetch(`${url}/${clientId}`, { headers: { accept: 'text/event-stream' } });
    expect(sse.status).toBe(400);
    expect(await sse.json()).toEqual([expect.objectContaining({ error: '400::Connection type eventsource is not offered' })]);

    const iframe = await fetch(iframeStreamUrl(url, clientId));
    expect(iframe.status).toBe(400);

    await expect(openSocket(url)).rejects.toThrow('status 400');
  });

  it('leaves the offered ones working', async () => {
    const { url } = await start({ connectionTypes: ['websocket', 'long-polling'] });
    const clientId = await handshake(url, undefined, ['websocket']);
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '1' }]);
    await expect.poll(() => socket.batches[0]?.[0]).toMatchObject({ channel: '/meta/connect', successful: true });
  });
});
