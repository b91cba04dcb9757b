import { defineConfig } from 'vitest/config';

// One runner for every layer: unit and mocked tests (jsdom or node per file, via a
// `// @vitest-environment` docblock), integration against the reference server on
// loopback, interop with Faye, and real Chromium. Files pick their environment;
// nothing here assumes a test's layer.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
    // Node 20 has no global WebSocket without the flag; msw's ws.link() and the
    // SDK's integration tests need one in the node environment.
    execArgv: ['--experimental-websocket'],
    pool: 'forks',
  },
});
