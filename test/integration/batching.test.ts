import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type CometClient } from '../../src/index.js';
import type { Message } from '../../src/protocol/message.js';
import { startServer, type RunningServer } from '../helpers/reference-server.js';

let server: RunningServer;
let client: CometClient;

afterEach(async () => {
  await client?.disconnect();
  await server?.stop();
});

describe('batching', () => {
  it('sends the messages of one tick as one batch, and a connect always alone', async () => {
    server = await startServer();
    const batches: Message[][] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      if (typeof init?.body === 'string') batches.push(JSON.parse(init.body) as Message[]);
      return fetch(input, init);
    };
    client = createClient({ url: server.url, transports: ['long-poll'], rememberTransport: false, platform: { fetch: recordingFetch } });
    await client.connect();
    batches.length = 0;

    const subs = ['/a', '/b', '/c'].map((channel) => client.subscribe(channel, () => {}));
    const published = client.publish('/a', 1);
    await Promise.all([...subs.map((s) => s.ready), published]);

    const withSubscribes = batches.filter((b) => b.some((m) => m.channel === '/meta/subscribe'));
    expect(withSubscribes).toHaveLength(1);
    expect(withSubscribes[0]!.map((m) => m.channel)).toEqual(['/meta/subscribe', '/meta/subscribe', '/meta/subscribe', '/a']);
    for (const batch of batches) {
      if (batch.some((m) => m.channel === '/meta/connect')) expect(batch).toHaveLength(1);
    }
  });
});
