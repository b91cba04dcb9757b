// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, handshake, iframeBatches, openStream, post, start, subscribe } from './helpers.js';

afterEach(closeAll);

const DANGEROUS = { text: '</script><script>alert(1)</script> <!-- x --> \u2028 \u2029 & </SCRIPT> <!--', nested: ['</script>'] };

describe('iframe-streaming', () => {
  it('streams a document that opens with c("[]") and carries each batch in one script', async () => {
    const { url, comet, port } = await start({ timeout: 700 });
    const origin = `http://127.0.0.1:${port}`;
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/chat');
    const stream = await openStream(`${url}/${clientId}?connectionType=iframe-streaming&origin=${encodeURIComponent(origin)}`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-store');
    expect(stream.headers['x-content-type-options']).toBe('nosniff');
    await vi.waitFor(() => expect(stream.text).toContain('<script>c("[]")</script>'));
    expect(stream.text).toContain(`var o="http://127.0.0.1:${port}";function c(f){parent.postMessage(f,o)}`);
    // Padding before the first batch so browsers run scripts while the document streams.
    expect(stream.text.indexOf('c("[]")')).toBeGreaterThan(2048);
    expect((await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'iframe-streaming', id: '5' }])).body).toEqual([]);
    await comet.publish('/chat', { n: 1 });
    await vi.waitFor(() =>
      expect(iframeBatches(stream.text)).toEqual([
        [],
        [{ id: '5', channel: '/meta/connect', clientId, successful: true, advice: { reconnect: 'retry', interval: 700, timeout: 0 } }],
        [{ channel: '/chat', data: { n: 1 }, id: expect.any(String) }],
      ]),
    );
  });

  it('escapes payloads so no </script>, <!-- or line separator can break out, and they parse back intact', async () => {
    const { url, comet, port } = await start();
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/chat');
    const stream = await openStream(`${url}/${clientId}?connectionType=iframe-streaming&origin=${encodeURIComponent(`http://127.0.0.1:${port}`)}`);
    await comet.publish('/chat', DANGEROUS);
    await vi.waitFor(() => expect(iframeBatches(stream.text)).toHaveLength(2));
    const scripts = stream.text.match(/<script>[\s\S]*?<\/script>/g)!;
    expect(stream.text.match(/<\/script>/gi)!.length).toBe(scripts.length);
    expect(stream.text.match(/<script>/gi)!.length).toBe(scripts.length);
    expect(stream.text).not.toContain('<!--');
    expect(stream.text).not.toMatch(/[\u2028\u2029]/);
    expect(iframeBatches(stream.text)[1]![0]!.data).toEqual(DANGEROUS);
    // Also evaluate the script the way a browser would: c(...) hands the frame to the parent.
    const frames: string[] = [];
    const last = scripts[scripts.length - 1]!.slice('<script>'.length, -'</script>'.length);
    new Function('c', last)((f: string) => frames.push(f));
    expect(JSON.parse(frames[0]!)[0].data).toEqual(DANGEROUS);
  });

  it('refuses an origin parameter that is not allowed with 403', async () => {
    const { url } = await start();
    const clientId = await handshake(url);
    for (const origin of ['https://evil.example', 'null', 'javascript:alert(1)', '"></script>', '']) {
      const stream = await openStream(`${url}/${clientId}?connectionType=iframe-streaming&origin=${encodeURIComponent(origin)}`);
      expect(stream.status).toBe(403);
      await stream.done;
      expect(stream.text).not.toContain('<script>');
    }
  });

  it('accepts an origin listed in allowedOrigins', async () => {
    const { url } = await start({ allowedOrigins: ['https://app.example'] });
    const clientId = await handshake(url);
    const stream = await openStream(`${url}/${clientId}?connectionType=iframe-streaming&origin=${encodeURIComponent('https://app.example')}`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-security-policy']).toBe('frame-ancestors https://app.example');
    await vi.waitFor(() => expect(stream.text).toContain('var o="https://app.example"'));
  });
});
