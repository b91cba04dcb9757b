// @vitest-environment node
/**
 * The reopen logic shared by the sse and iframe transports, driven through a
 * fake stream so that events can arrive late, out of turn, or after a stop,
 * which real EventSources and iframes only do under rare timing.
 */
import { describe, expect, it, vi } from 'vitest';
import { streamTransport, type StreamEvents } from '../../src/transports/stream.js';
import { callCount, context, delivered, frame, makeSink } from './helpers.js';

function fake(throwOn = -1) {
  const streams: { events: StreamEvents; stop: ReturnType<typeof vi.fn> }[] = [];
  const factory = streamTransport('sse', 'eventsource', () => true, (_c, events) => {
    if (streams.length === throwOn) throw new Error('blocked');
    const stop = vi.fn();
    streams.push({ events, stop });
    return stop;
  });
  return { factory, streams };
}

describe('streamTransport', () => {
  it('ignores a replaced stream, even if it keeps reporting', () => {
    const { factory, streams } = fake();
    const s = makeSink();
    factory.create().open(context(), s);
    streams[0]!.events.open();
    streams[0]!.events.end();
    expect(streams).toHaveLength(2);
    expect(streams[0]!.stop).toHaveBeenCalledOnce();
    streams[0]!.events.chunk(frame('/stale'));
    streams[0]!.events.end();
    expect(streams).toHaveLength(2);
    streams[1]!.events.chunk(frame('/fresh'));
    expect(delivered(s)).toEqual(['/fresh']);
  });

  it('neither reopens nor reports after close', async () => {
    const { factory, streams } = fake();
    const s = makeSink();
    const t = factory.create();
    t.open(context(), s);
    streams[0]!.events.open();
    t.close();
    expect(streams[0]!.stop).toHaveBeenCalledOnce();
    streams[0]!.events.chunk(frame('/late'));
    streams[0]!.events.end();
    await new Promise<void>((r) => setImmediate(r));
    expect(streams).toHaveLength(1);
    expect(callCount(s)).toBe(1);
  });

  it('fails after open returns when a stream cannot be started', async () => {
    const { factory } = fake(0);
    const s = makeSink();
    factory.create().open(context(), s);
    expect(s.onClose).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(s.onClose.mock.calls[0]![0].code).toBe('transport_failed');
  });

  it('fails when a reopen cannot start a stream, releasing nothing twice', async () => {
    const { factory, streams } = fake(1);
    const s = makeSink();
    factory.create().open(context(), s);
    streams[0]!.events.open();
    streams[0]!.events.end();
    await vi.waitFor(() => expect(s.onClose).toHaveBeenCalledOnce());
    expect(streams[0]!.stop).toHaveBeenCalledOnce();
  });
});
