// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { closeAll, handshake, start, subscribe } from './helpers.js';

afterEach(closeAll);

function jsonpUrl(url: string, messages: unknown, callback = '__jsonp1__'): string {
  return `${url}?message=${encodeURIComponent(JSON.stringify(messages))}&jsonp=${encodeURIComponent(callback)}`;
}

/** Run a JSONP body as a browser would and capture what it passes to the callback. */
function runScript(text: string, callback: string): Message[] {
  let got: Message[] = [];
  new Function(callback, text)((batch: Message[]) => (got = batch));
  return got;
}

describe('callback-polling (JSONP)', () => {
  it('handshakes, connects and polls with a /**/-prefixed script', async () => {
    const { url, comet } = await start();
    const res = await fetch(jsonpUrl(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling'], id: '13' }]));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await res.text();
    expect(text).toMatch(/^\/\*\*\/__jsonp1__\(\[.*\]\);$/);
    const clientId = runScript(text, '__jsonp1__')[0]!.clientId!;
    await subscribe(url, clientId, '/a');
    await fetch(jsonpUrl(url, [{ channel: '/meta/connect', clientId, connectionType: 'callback-polling', id: '1' }]));
    const poll = fetch(jsonpUrl(url, [{ channel: '/meta/connect', clientId, connectionType: 'callback-polling', id: '2' }]));
    await new Promise((r) => setTimeout(r, 50));
    await comet.publish('/a', { ok: true });
    const batch = runScript(await (await poll).text(), '__jsonp1__');
    expect(batch.map((m) => m.channel)).toEqual(['/meta/connect', '/a']);
  });

  it("answers at <path>/handshake too, where CometD's client sends a lone meta message", async () => {
    const { url } = await start();
    const res = await fetch(jsonpUrl(`${url}/handshake`, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling'], id: '1' }], 'cb'));
    expect(res.status).toBe(200);
    expect(runScript(await res.text(), 'cb')[0]).toMatchObject({ channel: '/meta/handshake', successful: true });
  });

  it('escapes line separators so the script parses and yields the original data', async () => {
    const { url, comet } = await start();
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/a');
    const data = { text: '</script><!--\u2028\u2029' };
    await comet.publish('/a', data);
    const text = await (await fetch(jsonpUrl(url, [{ channel: '/meta/connect', clientId, connectionType: 'callback-polling' }], 'cb'))).text();
    expect(text).not.toMatch(/[\u2028\u2029]/);
    expect(runScript(text, 'cb')[1]!.data).toEqual(data);
  });

  it('refuses callback names that are not plain identifiers with 400 and never echoes them', async () => {
    const { url } = await start();
    const message = [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling'] }];
    for (const callback of ['alert(1);x', 'a.b', 'x</script>', '1abc', '', 'a b', 'a'.repeat(200), 'é']) {
      const res = await fetch(jsonpUrl(url, message, callback));
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await res.text();
      if (callback.length > 1) expect(body).not.toContain(callback);
      expect(JSON.parse(body)[0]).toMatchObject({ successful: false, error: expect.stringMatching(/^400::/) });
    }
    const missing = await fetch(`${url}?message=${encodeURIComponent(JSON.stringify(message))}`);
    expect(missing.status).toBe(400);
  });

  it('answers a bad message through the callback with status 400', async () => {
    const { url } = await start();
    const res = await fetch(`${url}?message=%7Bnope&jsonp=cb`);
    expect(res.status).toBe(400);
    expect(runScript(await res.text(), 'cb')[0]).toMatchObject({ channel: '/meta/unknown', successful: false, error: expect.stringMatching(/^400::/) });
  });
});
