// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, handshake, openSocket, openStream, post, start } from './helpers.js';

afterEach(closeAll);

const HANDSHAKE = [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }];

describe('allowedOrigins', () => {
  it('allows requests without an Origin and same-origin requests by default', async () => {
    const { url, port } = await start();
    expect((await post(url, HANDSHAKE)).status).toBe(200);
    const same = await post(url, HANDSHAKE, { origin: `http://127.0.0.1:${port}` });
    expect(same.status).toBe(200);
  });

  it('refuses cross-origin POSTs by default and allows listed origins with CORS headers', async () => {
    const { url } = await start({ allowedOrigins: ['https://app.example'] });
    const evil = await post(url, HANDSHAKE, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body[0]).toMatchObject({ successful: false, error: expect.stringMatching(/^403::/) });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const app = await post(url, HANDSHAKE, { origin: 'https://app.example' });
    expect(app.status).toBe(200);
    expect(app.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(app.headers.get('vary')).toBe('Origin');
  });

  it('answers preflight requests for allowed origins only', async () => {
    const { url } = await start({ allowedOrigins: ['https://app.example'] });
    const ok = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('access-control-allow-headers')).toBe('content-type');
    const evil = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(evil.status).toBe(403);
  });

  it('checks the Origin of EventSource streams', async () => {
    const { url } = await start({ allowedOrigins: ['https://app.example'] });
    const clientId = await handshake(url);
    const evil = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream', origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    const app = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream', origin: 'https://app.example' });
    expect(app.status).toBe(200);
    expect(app.headers['access-control-allow-origin']).toBe('https://app.example');
  });

  it('rejects a WebSocket upgrade from a foreign origin with 403', async () => {
    const { url, port } = await start({ allowedOrigins: ['https://app.example'] });
    await expect(openSocket(url, { origin: 'https://evil.example' })).rejects.toThrow('status 403');
    await expect(openSocket(url, { origin: 'https://app.example' })).resolves.toBeDefined();
    await expect(openSocket(url, { origin: `http://127.0.0.1:${port}` })).resolves.toBeDefined();
    await expect(openSocket(url)).resolves.toBeDefined();
  });

  it('accepts a predicate or "*"', async () => {
    const fn = await start({ allowedOrigins: (origin) => origin.endsWith('.trusted.example') });
    expect((await post(fn.url, HANDSHAKE, { origin: 'https://a.trusted.example' })).status).toBe(200);
    expect((await post(fn.url, HANDSHAKE, { origin: 'https://trusted.example.evil' })).status).toBe(403);
    const any = await start({ allowedOrigins: '*' });
    expect((await post(any.url, HANDSHAKE, { origin: 'https://anyone.example' })).status).toBe(200);
  });

  it('never allows credentials with "*": any site could send a visitor\'s cookies and read the replies', async () => {
    const any = await start({ allowedOrigins: '*' });
    const clientId = await handshake(any.url);
    const origin = 'https://anyone.example';
    const posted = await post(any.url, HANDSHAKE, { origin });
    const preflight = await fetch(any.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    const stream = await openStream(`${any.url}/${clientId}`, { accept: 'text/event-stream', origin });
    for (const get of [(n: string) => posted.headers.get(n), (n: string) => preflight.headers.get(n), (n: string) => stream.headers[n] ?? null]) {
      expect(get('access-control-allow-origin')).toBe('*');
      expect(get('access-control-allow-credentials')).toBeNull();
    }
    // A listed origin keeps them: the app named it.
    const listed = await start({ allowedOrigins: ['https://app.example'] });
    const app = await post(listed.url, HANDSHAKE, { origin: 'https://app.example' });
    expect(app.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('sends JSON replies with nosniff, errors included', async () => {
    const { url } = await start();
    expect((await post(url, HANDSHAKE)).headers.get('x-content-type-options')).toBe('nosniff');
    const bad = await fetch(`${url}/a/b%3Cscript%3E`, { method: 'POST', body: '[]' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses with 403 an Origin the predicate throws on, on every entry point, and keeps serving', async () => {
    // A plausible predicate: new URL() throws on an Origin that is not a URL, which any peer can send.
    const { url } = await start({ allowedOrigins: (origin) => new URL(origin).hostname.endsWith('.trusted.example') });
    const clientId = await handshake(url);
    expect((await post(url, HANDSHAKE, { origin: 'garbage' })).status).toBe(403);
    expect((await openStream(`${url}/${clientId}`, { accept: 'text/event-stream', origin: 'garbage' })).status).toBe(403);
    // It escaped from Node's 'upgrade' event as an uncaught exception: the process ended.
    await expect(openSocket(url, { origin: 'garbage' })).rejects.toThrow('status 403');
    await expect(openSocket(url, { origin: 'https://a.trusted.example' })).resolves.toBeDefined();
  });

  it('allows only on true: an async predicate (a Promise, truthy) allows no foreign origin', async () => {
    const predicate = (async (origin: string) => origin === 'https://app.example') as unknown as (origin: string) => boolean;
    const { url } = await start({ allowedOrigins: predicate });
    expect((await post(url, HANDSHAKE, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(url, HANDSHAKE, { origin: 'https://app.example' })).status).toBe(403);
    await expect(openSocket(url, { origin: 'https://evil.example' })).rejects.toThrow('status 403');
  });
});
