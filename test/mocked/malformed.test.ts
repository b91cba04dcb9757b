// @vitest-environment jsdom
/**
 * Malformed frames from the server, against `cometkit/testing` in jsdom, on
 * every transport msw can carry: text that is not JSON, JSON that is not
 * messages, and a lone object without a channel each become an `error` event
 * with code `bad_message`; the frame is dropped, the client stays connected on
 * the same transport, and the next delivery and publish still work.
 *
 * On long-poll the malformed frame is the held connect's response, so that connect
 * has no reply: the client connects again (today by a short `reconnecting` spell),
 * and what is asserted is that the session and every message survive.
 */
import { describe, expect, test, vi } from 'vitest';
import { isCometError } from '../../src/index.js';
import { useMockServer } from './harness.js';

const env = useMockServer();

const MALFORMED = ['not json', '[1]', '{"no":"channel"}'];

describe.each(['websocket', 'sse'] as const)('%s', (name) => {
  test.each(MALFORMED)('reports %j as bad_message and keeps the connection', async (raw) => {
    const { mock } = env;
    const { client, errors, states } = env.client({ transports: [name] });
    const got = vi.fn();
    await client.subscribe('/after', got).ready;

    mock.inject(name, raw);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(isCometError(errors[0])).toBe(true);
    expect(errors[0]!.code).toBe('bad_message');

    await mock.publish('/after', 'still here');
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith('still here', expect.anything()));
    await client.publish('/after', 'mine');
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith('mine', expect.anything()));
    expect(client.state).toBe('connected');
    expect(client.transport).toBe(name);
    expect(states).toEqual(['connecting', 'connected']);
    expect(errors).toHaveLength(1);
  });
});

describe('long-poll', () => {
  test.each(MALFORMED)('reports %j as bad_message and keeps the session', async (raw) => {
    const { mock } = env;
    const { client, errors } = env.client({ transports: ['long-poll'] });
    const got = vi.fn();
    await client.subscribe('/after', got).ready;
    const clientId = client.clientId;

    mock.inject('long-poll', raw);
    await vi.waitFor(() => expect(errors.map((e) => e.code)).toContain('bad_message'));

    await mock.publish('/after', 'still here');
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith('still here', expect.anything()));
    await client.publish('/after', 'mine');
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith('mine', expect.anything()));
    expect(client.state).toBe('connected');
    expect(client.transport).toBe('long-poll');
    expect(client.clientId).toBe(clientId);
    expect(got).toHaveBeenCalledTimes(2);
  });
});
