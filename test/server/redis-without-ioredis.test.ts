// @vitest-environment node
// The `redis` option when the optional `ioredis` package is not installed. The
// package is made missing by a module mock whose factory throws, so the store's
// `import('ioredis')` rejects as it does without the package; nothing is uninstalled.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, RedisStore, type CometServer } from '../../src/server/index.js';

vi.mock('ioredis', () => {
  throw new Error("Cannot find package 'ioredis'");
});

const created: CometServer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const comet of created.splice(0)) await comet.close();
});

const missing = { name: 'CometError', code: 'bad_options', message: 'The redis option needs the ioredis package: npm install ioredis' };

describe('the redis option without ioredis installed', () => {
  it('rejects ready() with a bad_options CometError that says to npm install ioredis', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const comet = createServer({ redis: 'redis://127.0.0.1:6379' });
    created.push(comet);
    await expect(comet.ready()).rejects.toMatchObject(missing);
  });

  it('logs why at startup, before any request or publish', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    created.push(createServer({ redis: 'redis://127.0.0.1:6379' }));
    await vi.waitFor(() => expect(log).toHaveBeenCalledWith(`cometkit: the Redis store could not start: ${missing.message}`));
    expect(log).toHaveBeenCalledTimes(1);
  });

  it('rejects ready() for a RedisStore passed as store, and logs nothing for it', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const store = new RedisStore();
    const comet = createServer({ store });
    created.push(comet);
    await expect(comet.ready()).rejects.toMatchObject(missing);
    expect(log).not.toHaveBeenCalled();
    await store.close();
  });

  it('leaves a server without the redis option ready at once', async () => {
    const comet = createServer();
    created.push(comet);
    await expect(comet.ready()).resolves.toBeUndefined();
  });
});
