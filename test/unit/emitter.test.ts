import { describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../src/emitter.js';

type Events = { tick: number; other: string };

describe('Emitter', () => {
  it('delivers to every listener and stops after the disposer runs', () => {
    const e = new Emitter<Events>(() => {});
    const a = vi.fn();
    const off = e.on('tick', a);
    e.emit('tick', 1);
    off();
    e.emit('tick', 2);
    expect(a.mock.calls).toEqual([[1]]);
  });

  it('keeps delivering when a listener throws, and reports the error', () => {
    const errors = vi.fn();
    const e = new Emitter<Events>(errors);
    const after = vi.fn();
    e.on('tick', () => {
      throw new Error('boom');
    });
    e.on('tick', after);
    e.emit('tick', 7);
    expect(after).toHaveBeenCalledWith(7);
    expect(errors).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }), 'tick');
  });

  it('lets a listener remove itself while an event is being emitted', () => {
    const e = new Emitter<Events>(() => {});
    const second = vi.fn();
    const off = e.on('tick', () => off());
    e.on('tick', second);
    e.emit('tick', 1);
    e.emit('tick', 2);
    expect(second).toHaveBeenCalledTimes(2);
  });

  it('runs a listener added during an emit from the next event on, and one added twice once', () => {
    const e = new Emitter<Events>(() => {});
    const late = vi.fn();
    const twice = vi.fn();
    e.on('tick', twice);
    e.on('tick', twice);
    const off = e.on('tick', () => {
      off();
      e.on('tick', late);
    });
    e.emit('tick', 1);
    e.emit('tick', 2);
    expect(late.mock.calls).toEqual([[2]]);
    expect(twice).toHaveBeenCalledTimes(2);
  });
});
