// jsdom and Node 20 have no EventSource, and msw's sse() refuses to build
// without one: install the fetch-based polyfill before any handler exists.
import { EventSource } from 'eventsource';

const g = globalThis as { EventSource?: unknown };
g.EventSource ??= EventSource;
