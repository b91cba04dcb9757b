// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import type { Extension } from '../../src/server/index.js';
import { closeAll, connect, handshake, post, start } from './helpers.js';

afterEach(closeAll);

/** The auth pattern users copy: a token in `ext`, checked on handshake, subscribe and publish. */
const tokenAuth = (token: string): Extension => ({
  incoming(message) {
    const guarded = ['/meta/handshake', '/meta/subscribe'].includes(message.channel) || !message.channel.startsWith('/meta/');
    if (guarded && message.ext?.token !== token) message.error = '403::Invalid token';
  },
});

describe('extensions', () => {
  it('deny a handshake, subscribe or publish whose ext carries a wrong auth token', async () => {
    const { url } = await start({ extensions: [tokenAuth('s3cret')] });
    const denied = await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1', ext: { token: 'nope' } }]);
    expect(denied.body).toEqual([{ id: '1', channel: '/meta/handshake', successful: false, error: '403::Invalid token' }]);
    const clientId = await handshake(url, { token: 's3cret' });
    const sub = await post(url, [{ channel: '/meta/subscribe', clientId, subscription: '/a', id: '2' }]);
    expect(sub.body[0]).toMatchObject({ id: '2', successful: false, error: '403::Invalid token' });
    const pub = await post(url, [{ channel: '/a', clientId, data: 1, id: '3', ext: { token: 'wrong' } }]);
    expect(pub.body[0]).toMatchObject({ id: '3', successful: false, error: '403::Invalid token' });
    const ok = await post(url, [{ channel: '/meta/subscribe', clientId, subscription: '/a', id: '4', ext: { token: 's3cret' } }]);
    expect(ok.body[0]).toMatchObject({ id: '4', successful: true });
  });

  it('see outgoing replies and deliveries, and request headers in the context', async () => {
    const seen: string[] = [];
    const { url, comet } = await start({
      extensions: [
        {
          incoming(message, context) {
            if (message.channel === '/meta/handshake') seen.push(`in:${String(context.headers['x-app'])}`);
          },
          outgoing(message) {
            message.ext = { ...message.ext, stamped: true };
          },
        },
      ],
    });
    const { body } = await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }], { 'x-app': 'demo' });
    expect(seen).toEqual(['in:demo']);
    expect(body[0]!.ext).toEqual({ stamped: true });
    const clientId = body[0]!.clientId!;
    await post(url, [{ channel: '/meta/subscribe', clientId, subscription: '/a' }]);
    await comet.publish('/a', 1);
    const polled = await connect(url, clientId);
    expect(polled.body.map((m) => m.ext)).toEqual([{ stamped: true }, { stamped: true }]);
  });

  it('turn a throwing incoming hook into a failed reply', async () => {
    const { url } = await start({
      extensions: [
        {
          incoming() {
            throw new Error('boom');
          },
        },
      ],
    });
    const { status, body } = await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]);
    expect(status).toBe(200);
    expect(body[0]).toMatchObject({ successful: false, error: '500::Extension failed' });
  });
});
