/**
 * Shared pieces for the transport tests: a sink of `vi.fn()`s and a
 * `TransportContext` built from the live globals (so msw's patched fetch,
 * WebSocket and EventSource are used). Call `context()` after `server.listen()`.
 * Add a field here when the context grows; every transport test picks it up.
 */
import { vi } from 'vitest';
import type { CometError } from '../../src/errors.js';
import type { Message } from '../../src/protocol/message.js';
import { resolvePlatform, type Platform } from '../../src/platform.js';
import type { TransportContext, TransportSink } from '../../src/transports/transport.js';

export const ENDPOINT = 'http://localhost/cometd';

export function makeSink() {
  return {
    onOpen: vi.fn<() => void>(),
    onMessages: vi.fn<(m: Message[]) => void>(),
    onError: vi.fn<(e: CometError) => void>(),
    onClose: vi.fn<(e: CometError) => void>(),
  } satisfies TransportSink;
}

export type Sink = ReturnType<typeof makeSink>;

/** Every sink call so far, as one count: for "nothing more happens" checks. */
export const callCount = (s: Sink): number =>
  s.onOpen.mock.calls.length + s.onMessages.mock.calls.length + s.onError.mock.calls.length + s.onClose.mock.calls.length;

export function context(overrides: Partial<TransportContext> = {}, platform: Partial<Platform> = {}): TransportContext {
  return {
    url: new URL(ENDPOINT),
    clientId: 'c1',
    platform: resolvePlatform(platform),
    maxMessageChars: 1000,
    streamCharLimit: 100_000,
    headers: {},
    ack: () => 0,
    ...overrides,
  } satisfies TransportContext;
}

/** The channels of every batch delivered so far, flattened in delivery order. */
export const delivered = (s: Sink): string[] => s.onMessages.mock.calls.flatMap(([m]) => m.map((x) => x.channel));

/** A batch of messages on the given channels, as wire text. */
export const frame = (...channels: string[]): string => JSON.stringify(channels.map((channel) => ({ channel })));
