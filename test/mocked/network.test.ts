// @vitest-environment jsdom
/**
 * The browser's connectivity signals, against `cometkit/testing` in jsdom:
 * while `navigator.onLine` is false after a drop the client schedules no
 * reconnect attempt (so it burns none), and the `online` event retries at once,
 * whatever the backoff said.
 */
import { afterEach, expect, test, vi } from 'vitest';
import { received, useMockServer } from './harness.js';

const env = useMockServer();

/** Make `navigator.onLine` report `value` and fire the matching window event. */
function goOnline(value: boolean): void {
  Object.defineProperty(window.navigator, 'onLine', { configurable: true, get: () => value });
  window.dispatchEvent(new Event(value ? 'online' : 'offline'));
}

afterEach(() => {
  // Back to jsdom's own getter on Navigator.prototype.
  delete (window.navigator as { onLine?: boolean }).onLine;
});

/** Timers as a client sees them, with the ones still pending. */
function trackedTimers() {
  const pending = new Set<ReturnType<typeof setTimeout>>();
  return {
    pending,
    setTimeout: (fn: () => void, ms: number) => {
      const handle = setTimeout(() => {
        pending.delete(handle);
        fn();
      }, ms);
      pending.add(handle);
      return handle;
    },
    clearTimeout: (handle: unknown) => {
      pending.delete(handle as ReturnType<typeof setTimeout>);
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
  };
}

const attempts = () => received(env.mock, '/meta/handshake').length + received(env.mock, '/meta/connect').length;

test('spends no reconnect attempt while offline and retries at once when back online', async () => {
  const timers = trackedTimers();
  // A backoff so long that only the `online` event can explain a prompt reconnect.
  const { client, states } = env.client({
    transports: ['websocket'],
    reconnect: { initialDelay: 60_000, maxDelay: 60_000, jitter: false },
    platform: { setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout },
  });
  await client.connect();
  goOnline(false);
  env.mock.dropConnections();
  await vi.waitFor(() => expect(client.state).toBe('reconnecting'));
  const before = attempts();
  // Nothing is scheduled, so nothing can fire: the client waits for the network, not a timer.
  await Promise.resolve();
  expect(timers.pending.size).toBe(0);
  expect(attempts()).toBe(before);

  goOnline(true);
  await vi.waitFor(() => expect(client.state).toBe('connected'), { timeout: 2000 });
  expect(attempts()).toBeGreaterThan(before);
  expect(client.transport).toBe('websocket');
  expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
});

test('ignores the online event while connected', async () => {
  const { client, states } = env.client({ transports: ['long-poll'] });
  await client.connect();
  const handshakes = received(env.mock, '/meta/handshake').length;
  goOnline(true);
  expect(client.state).toBe('connected');
  expect(states).toEqual(['connecting', 'connected']);
  expect(received(env.mock, '/meta/handshake')).toHaveLength(handshakes);
});
