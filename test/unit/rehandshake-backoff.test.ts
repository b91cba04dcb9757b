/**
 * A server that forgets every session as soon as it is made (behind a balancer
 * without sticky sessions or a shared engine; CometD's Node server without its
 * cookie) answers each first connect with 402 and `reconnect: 'handshake'`.
 * The client handshook again at once, every time: ~150 handshakes a second,
 * for ever. Now a new session is a retry like any other, with the reconnect
 * backoff, which a link that has held for 10 s resets. A session that had lived
 * 10 s when it was forgotten (a server restart) is asked for again at once, whatever
 * backoff the outage before it built up.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { CometClient, type CometError, type CoreOptions } from '../../src/index.js';
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

/** How the stub answers a connect: 402 with handshake advice, at once, held until the client gives it up, or not at all (the server is down). */
type Answer = 'forget' | 'answer' | 'hold' | 'down';

/** A long-poll server stub: handshakes succeed; `answer()` decides, per connect (counted from 1), what it gets. */
function forgetfulServer(answer: (connect: number) => Answer) {
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
    const what = answer(++connects);
    if (what === 'down') throw new TypeError('fetch failed');
    if (what === 'forget') {
      return Response.json([{ channel: m!.channel, id: m!.id, successful: false, error: '402::Unknown client', advice: { reconnect: 'handshake', interval: 0 } }]);
    }
    if (what === 'hold') await new Promise((_, reject) => init!.signal!.addEventListener('abort', () => reject(new Error('aborted'))));
    return Response.json([{ channel: m!.channel, id: m!.id, successful: true, advice: { timeout: 30_000 } }]);
  };
  return { fetch: fetch as typeof globalThis.fetch, handshakes: () => handshakes, connects: () => connects };
}

/** The platform clock, which the test moves. */
let now = 0;

function start(server: ReturnType<typeof forgetfulServer>, timers: ReturnType<typeof manualTimers>, options: Partial<CoreOptions> = {}) {
  now = 1; // not 0: a link reads a `since` of 0 as "not connected yet"
  client = new CometClient({
    url: 'http://localhost/cometd',
    transports: [longPollTransport],
    rememberTransport: false,
    reconnect: { initialDelay: 1000, maxDelay: 8000, factor: 2, jitter: false },
    connectTimeout: 5000, // its deadlines (5 s, and 35 s for a held connect) are not among the delays above
    platform: { window: undefined, fetch: server.fetch, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, now: () => now },
    ...options,
  });
  const errors: CometError[] = [];
  client.on('error', (e) => void errors.push(e));
  void client.connect().catch(() => {});
  return errors;
}

it('handshakes again with growing delays while every new session is forgotten before it connects', async () => {
  const timers = manualTimers();
  const server = forgetfulServer(() => 'forget');
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

it('keeps the delays growing while each new session connects once and is then forgotten', async () => {
  const timers = manualTimers();
  // Each session's first connect (odd) is answered, its next one (even) refused: a balancer without sticky sessions.
  const server = forgetfulServer((connect) => (connect % 2 ? 'answer' : 'forget'));
  start(server, timers);
  for (const delay of [1000, 2000, 4000]) {
    await vi.waitFor(() => expect(timers.delays()).toContain(delay));
    timers.fire(delay);
  }
  await vi.waitFor(() => expect(timers.delays()).toContain(8000));
  expect(server.handshakes()).toBe(4);
});

it('starts the backoff afresh once a session has held for 10 s', async () => {
  const timers = manualTimers();
  // c1: connects (1), then 402 (2). c2: connects (3), its held connect is answered 10 s later (4), then 402 (5). c3 stays.
  const server = forgetfulServer((connect) => {
    if (connect === 4) now = 10_001;
    return connect === 2 || connect === 5 ? 'forget' : connect >= 7 ? 'hold' : 'answer';
  });
  start(server, timers);
  await vi.waitFor(() => expect(timers.delays()).toContain(1000));
  timers.fire(1000);
  // The loss after that waits the first delay again, not the next one (2000).
  await vi.waitFor(() => expect(server.connects()).toBe(5));
  await vi.waitFor(() => expect(timers.delays()).toContain(1000));
  expect(server.connects()).toBe(5);
  expect(timers.delays()).not.toContain(2000);
  timers.fire(1000);
  await vi.waitFor(() => expect(client!.clientId).toBe('c3'));
  await vi.waitFor(() => expect(client!.state).toBe('connected'));
});

it('handshakes again after the first delay when a session that lived 10 s is forgotten, however long the outage before', async () => {
  const timers = manualTimers();
  // c1 connects (1), ages 20 s, then the server is down for three attempts (2-4) and comes back without it (5: 402).
  const server = forgetfulServer((connect) => {
    if (connect === 2) now = 20_001;
    return connect === 1 || connect >= 6 ? 'answer' : connect === 5 ? 'forget' : 'down';
  });
  start(server, timers);
  for (const delay of [1000, 2000, 4000]) {
    await vi.waitFor(() => expect(timers.delays()).toContain(delay));
    timers.fire(delay);
  }
  await vi.waitFor(() => expect(server.connects()).toBe(5));
  // The outage's next step would be 8000; the server answered, so the new session is asked for at once.
  await vi.waitFor(() => expect(timers.delays()).toContain(1000));
  expect(timers.delays()).not.toContain(8000);
  expect(server.handshakes()).toBe(1);
  timers.fire(1000);
  await vi.waitFor(() => expect(client!.clientId).toBe('c2'));
  await vi.waitFor(() => expect(client!.state).toBe('connected'));
});

it('stays closed when an error listener disconnects on the 402', async () => {
  const timers = manualTimers();
  const server = forgetfulServer(() => 'forget');
  start(server, timers);
  const states: string[] = [];
  client!.on('state', ({ state }) => void states.push(state));
  client!.on('error', () => void client!.disconnect());
  await vi.waitFor(() => expect(client!.state).toBe('closed'));
  await new Promise((r) => setTimeout(r, 20));
  expect(states).toEqual(['closed']);
  // No backoff timer was left armed to start a new session.
  expect(timers.delays()).not.toContain(1000);
  expect(server.handshakes()).toBe(1);
});

it('arms no connect deadline beyond what a timer can wait, whatever the server advises', async () => {
  const timers = manualTimers();
  const server = forgetfulServer((connect) => (connect === 1 ? 'answer' : 'hold'));
  start(server, timers, { connectTimeout: 2 ** 31 - 1 });
  await vi.waitFor(() => expect(server.connects()).toBe(2));
  // The held connect's deadline: 30 s of advice plus a connectTimeout of 2^31 - 1 ms, capped (it would fire at once).
  expect(timers.delays()).toContain(2 ** 31 - 1);
  expect(Math.max(...timers.delays())).toBe(2 ** 31 - 1);
  expect(client!.state).toBe('connected');
});
