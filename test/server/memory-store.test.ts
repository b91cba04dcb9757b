// @vitest-environment node
// MemoryStore, the engine's default store, against the Store contract that
// RedisStore also keeps (test/helpers/store-contract.ts).
import { afterEach, describe } from 'vitest';
import { MemoryStore } from '../../src/server/index.js';
import { storeContract } from '../helpers/store-contract.js';

const stores: MemoryStore[] = [];

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describe('MemoryStore', () => {
  storeContract(() => {
    const store = new MemoryStore();
    stores.push(store);
    return store;
  });
});
