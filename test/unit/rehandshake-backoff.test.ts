/**
 * A server that forgets every session as soon as it is made (behind a balancer
 * without sticky sessions or a shared engine; CometD's Node server without its
 * cookie) answers each first connect with 402 and `reconnect: 'handshake'`.
 * The client handshook again at once, every time: ~150 handshakes a second,
 * for ever. Now a new session is a retry like any other, with the reconnect
 * backoff, which a connected link resets.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { CometClient, type CometError } from '../../src/index.js';
import { longPollTransport } from '../../src/transports/long-poll.js';
import type { Message } from '../../src/protocol/message.js';

interface Timer {
  fn: () => void;
  ms: number;
}

/**
 * A scheduler the test drives: timers of 0 ms run on the next turn, longer ones wait
 * until `fire` runs them (connect deadlines among them, which then never fire).
 */
function manualTimers() {
  const held = new Set<Timer>();
  return {
    held,
    setTimeout: (fn: () => void, ms: number): unknown => {
      const timer = { fn, ms };
      if (ms <= 0) setTimeout(() => held.has(timer) && (held.delete(timer), fn()));
      held.add(timer);
      return timer;
    },
    clearTimeout: (timer: unknown) => void held.delete(timer as Timer),
    /** Run the one held timer of `ms`. */
    fire(ms: number) {
      const timers = [...held].filter((t) => t.ms === ms);
      expect(timers).toHaveLength(1);
      held.delete(timers[0]!);
      timers[0]!.fn();
    },
    delays: () => [...held].map((t) => t.ms),
  };
}

let client: CometClient | undefined;
afterEach(() => client?.disconnect());

/** A long-poll server stub: handshakes succeed; `forget()` decides, per connect, whether it answers 402. */
function forgetfulServer(forget: (connect: number) => boolean) {
  let handshakes = 0;
  let connects = 0;
  const fetch = async (_url: unknown, init?: RequestInit): Promise<Response> => {
    await new Promise((r) => setImmediate(r)); // a network's turn, so a loop cannot starve the test
    const [m] = JSON.parse(init!.body as string) as Message[];
    if (m!.channel === '/meta/handshake') {
      const reply = { channel: m!.channel, id: m!.id, successful: true, version: '1.0', clientId: `c${++handshakes}`, supportedConnectionTypes: ['long-polling'] };
      return Response.json([reply]);
    }
    if (m!.channel === '/meta/disconnect') return Response.json([{ channel: m!.channel, id: m!.id, successful: true }]);
    if (forget(++connects)) {
      return Response.json([{ channel: m!.channel, id: m!.id, successful: false, error: '402::Unknown client', advice: { reconnect: 'handshake', interval: 0 } }]);
    }
    // A first connect is answered at once; a later one is held until the client gives it up.
    if (!m!.advice) await new Promise((_, reject) => init!.signal!.addEventListener('abort', () => reject(new Error('aborted'))));
    return Response.json([{ channel: m!.channel, id: m!.id, successful: true }]);
  };
  return { fetch: fetch as typeof globalThis.fetch, handshakes: () => handshakes };
}

function start(server: ReturnType<typeof forgetfulServer>, timers: ReturnType<typeof manualTimers>) {
  client = new CometClient({
    url: 'http://localhost/cometd',
    transports: [longPollTransport],
    rememberTransport: false,
    reconnect: { initialDelay: 1000, maxDelay: 8000, factor: 2, jitter: false },
    platform: { window: undefined, fetch: server.fetch, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout },
  });
  const errors: CometError[] = [];
  client.on('error', (e) => void errors.push(e));
  void client.connect();
  return errors;
}

it('handshakes again with growing delays while every new session is forgotten before it connects', async () => {
  const timers = manualTimers();
  const server = forgetfulServer(() => true);
  const errors = start(server, timers);

  for (const [handshakes, delay] of [[1, 1000], [2, 2000], [3, 4000], [4, 8000], [5, 8000]] as const) {
    await vi.waitFor(() => expect(timers.delays()).toContain(delay));
    // Waiting out the delay: no handshake meanwhile (the old client had made hundreds by now).
    await new Promise((r) => setTimeout(r, 20));
    expect(server.handshakes()).toBe(handshakes);
    expect(client!.state).toBe('reconnecting');
    timers.fire(delay);
  }
  await vi.waitFor(() => expect(server.handshakes()).toBe(6));
  // One error per forgotten session, each saying why.
  await vi.waitFor(() => expect(errors).toHaveLength(6));
  expect(errors.every((e) => e.code === 'connect_failed' && e.message === '/meta/connect failed: "402::Unknown client"')).toBe(true);
});

it('starts the backoff again once a session connected', async () => {
  const timers = manualTimers();
  // c1 connects (connect 1), then its held connect (2) is answered 402; c2's first connect (3) is refused
  // too; c3 connects (4), then its held connect (5) is answered 402; c4 connects (6) and stays.
  const server = forgetfulServer((connect) => [2, 3, 5].includes(connect));
  start(server, timers);

  await vi.waitFor(() => expect(timers.delays()).toContain(1000));
  expect(server.handshakes()).toBe(1);
  timers.fire(1000);
  // Forgotten again before it connected: the delay grows.
  await vi.waitFor(() => expect(timers.delays()).toContain(2000));
  expect(server.handshakes()).toBe(2);
  timers.fire(2000);
  // c3 connected, so its loss waits the first delay again, not the next one (4000).
  await vi.waitFor(() => expect(timers.delays()).toContain(1000));
  expect(server.handshakes()).toBe(3);
  expect(timers.delays()).not.toContain(4000);
  timers.fire(1000);
  await vi.waitFor(() => expect(client!.clientId).toBe('c4'));
  await vi.waitFor(() => expect(client!.state).toBe('connected'));
});
