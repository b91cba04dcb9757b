// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type CometClient, type CometError, type TransportName } from '../../src/index.js';
import { startFakeEndpoint, type FakeEndpoint, type FakeOptions } from './fake-endpoint.js';

// Hand-picked hostile inputs the property in client-frames.test.ts reaches only
// by luck, or whose outcome is not "stay connected": each names the behaviour
// it pins down. The first two were client bugs found here (fixed in 00dd6c4).
let endpoint: FakeEndpoint;
let client: CometClient;
let errors: CometError[];

afterEach(async () => {
  await client?.disconnect();
  await endpoint?.stop();
});

async function connect(transport: TransportName, options: FakeOptions = {}, connectTimeout = 4000) {
  endpoint = await startFakeEndpoint({ hold: 1000, ...options });
  errors = [];
  client = createClient({ url: endpoint.url, transports: [transport], rememberTransport: false, connectTimeout });
  client.on('error', (e) => errors.push(e));
  const got: unknown[] = [];
  await client.subscribe('/check', (data) => got.push(data)).ready;
  return got;
}

describe('unsolicited /meta/connect replies', () => {
  // Regression: Link#receive matched `reply.id !== this.#inflight`, so between two
  // connects (no connect in flight, which on a stream is almost all the time) a
  // reply *without* an id was taken as the connect's answer: its advice applied,
  // a failure tore the link down, `reconnect: 'none'` closed the client. A
  // WebSocket always has a held connect in flight, so only streams showed it.
  it('ignores one without id when no connect is in flight (sse)', async () => {
    const got = await connect('sse');
    // Let the first keep-alive cycle settle so no connect is in flight on the stream.
    await vi.waitFor(() => expect(client.state).toBe('connected'));
    endpoint.frame('[{"channel":"/meta/connect","successful":false,"error":"500::evil","advice":{"reconnect":"none"}}]');
    endpoint.deliver('/check', 'after');
    await vi.waitFor(() => expect(got).toContain('after'));
    expect(client.state).toBe('connected');
  });
});

describe('long-poll responses', () => {
  it('recovers from a held connect answered with garbage: bad_message, then a new connect, then delivery', async () => {
    endpoint = await startFakeEndpoint({ hold: 300 });
    errors = [];
    client = createClient({ url: endpoint.url, transports: ['long-poll'], rememberTransport: false, connectTimeout: 500 });
    client.on('error', (e) => errors.push(e));
    const got: unknown[] = [];
    await client.subscribe('/check', (data) => got.push(data)).ready;
    endpoint.answerNextConnect('<html>502 Bad Gateway</html>');
    await vi.waitFor(() => expect(errors.map((e) => e.code)).toContain('bad_message'));
    endpoint.deliver('/check', 'after');
    await vi.waitFor(() => expect(got).toContain('after'), { timeout: 5000 });
    expect(client.state).toBe('connected');
    expect(errors.every((e) => ['bad_message', 'connect_failed', 'timeout', 'transport_failed'].includes(e.code))).toBe(true);
  });

  // Regression: a 2xx response whose body is not a usable frame was reported as
  // one `bad_message` error, but the requests it answered stayed pending forever
  // (`publish()` never settled). Now each gets a failed reply, as on a 4xx.
  it('settles a publish whose response body is unusable', async () => {
    await connect('long-poll');
    endpoint.queueBody('{"not":"bayeux"}');
    let outcome = 'pending';
    client.publish('/inject', 1).then(
      () => (outcome = 'resolved'),
      (e: CometError) => (outcome = e.code),
    );
    await vi.waitFor(() => expect(errors.map((e) => e.code)).toContain('bad_message'));
    await vi.waitFor(() => expect(outcome).toBe('publish_failed'), { timeout: 1500 });
  });

  it('settles a publish by its reply when another element of the response is not a message', async () => {
    const got = await connect('long-poll');
    endpoint.queueBody('[{"channel":"/inject","id":$ID,"successful":true},{"bogus":1}]');
    await expect(client.publish('/inject', 1)).resolves.toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ code: 'bad_message', reply: { bogus: 1 } })]);
    // The reply was the bad element: the publish fails rather than waiting for ever, and the good delivery arrives.
    endpoint.queueBody('[{"channel":"/check","data":"delivered"},{"id":$ID,"successful":true}]');
    await expect(client.publish('/inject', 2)).rejects.toMatchObject({ code: 'publish_failed', message: expect.stringContaining('502::Bad response') });
    expect(got).toEqual(['delivered']);
    expect(errors.slice(1)).toEqual([expect.objectContaining({ code: 'bad_message', reply: { id: expect.any(String), successful: true } })]);
  });
});

describe('a frame with one element that is not a message', () => {
  // It used to drop the whole frame, and the good deliveries in it with it.
  it.each(['websocket', 'sse', 'long-poll'] as const)('still delivers the frame\'s other messages, in order, and reports the bad one (%s)', async (transport) => {
    const got = await connect(transport);
    const text = '[{"channel":"/check","data":"before"},{"data":"no channel"},{"channel":"/check","data":"after"}]';
    if (transport === 'long-poll') endpoint.answerNextConnect(text, true);
    else endpoint.frame(text);
    await vi.waitFor(() => expect(got).toEqual(['before', 'after']));
    expect(errors).toEqual([expect.objectContaining({ code: 'bad_message', reply: { data: 'no channel' } })]);
    endpoint.deliver('/check', 'next');
    await vi.waitFor(() => expect(got).toEqual(['before', 'after', 'next']));
    expect(client.state).toBe('connected');
    expect(client.transport).toBe(transport);
  });
});

describe('ack sequence numbers from a hostile server', () => {
  it.each(['websocket', 'sse', 'long-poll'] as const)('never stall or reorder the real deliveries (%s)', async (transport) => {
    const got = await connect(transport, { ack: true });
    const evil = ['"1"', '{}', 'null', '-5', '0', '1.5', '1e400', '9007199254740993', '[2]'];
    for (const seq of evil) {
      const text = `[{"channel":"/evil","data":${JSON.stringify(seq)},"ext":{"seq":${seq}}}]`;
      if (transport === 'long-poll') endpoint.answerNextConnect(text, true);
      else endpoint.frame(text);
    }
    for (let n = 0; n < 20; n++) endpoint.deliver('/check', n);
    await vi.waitFor(() => expect(got).toHaveLength(20));
    expect(got).toEqual([...Array(20).keys()]);
    expect(client.state).toBe('connected');
  });
});

describe('values a hostile server sends where the client writes text', () => {
  // JSON can carry an object whose toString is not a function: interpolating it throws.
  it('settles a publish whose failed reply has an error no template can print', async () => {
    await connect('long-poll');
    endpoint.queueBody('[{"channel":"/inject","id":$ID,"successful":false,"error":{"toString":0}}]');
    await expect(client.publish('/inject', 1)).rejects.toMatchObject({ code: 'publish_failed', message: '/inject failed: {"toString":0}' });
    expect(client.state).toBe('connected');
  });

  it.each(['websocket', 'sse'] as const)('reports a too-large notice whose size no template can print, and delivers the next seq (%s)', async (transport) => {
    const got = await connect(transport, { ack: true });
    endpoint.frame('[{"channel":"/check","id":"n1","ext":{"tooLarge":{"toString":0},"seq":1}}]');
    await vi.waitFor(() => expect(errors).toEqual([expect.objectContaining({ code: 'too_large', message: expect.stringContaining('{"toString":0}') })]));
    // The fake numbers its own deliveries from 1, which the notice took: its first is a duplicate, its second the next seq.
    endpoint.deliver('/check', 'duplicate');
    endpoint.deliver('/check', 'after');
    await vi.waitFor(() => expect(got).toEqual(['after']));
    expect(client.stats.duplicates).toBe(1);
    expect(client.state).toBe('connected');
  });
});
