// @vitest-environment node
// The built package as a CommonJS TypeScript project sees it (and, last, a Node ESM one
// without the DOM lib: fixtures/node-consumer.mts): fixtures/cjs-consumer.cts,
// compiled with fixtures/tsconfig.json (`module: node16`, strict, declarations
// checked too), imports cometkit by its own name, so TypeScript resolves it through
// package.json `exports` into dist/ like an installed copy. It needs the build
// (`npm test` runs it first; alone: `npm run build`). Declarations under
// node_modules are not ours to fix and are left out: msw 2's CommonJS ones import
// the ESM-only `rettime` (TS1479 there, whoever compiles them this way).
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const TSCONFIG = fileURLToPath(new URL('./fixtures/tsconfig.json', import.meta.url));
const NODE_TSCONFIG = fileURLToPath(new URL('./fixtures/tsconfig.node.json', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

/** Compile the project of `tsconfig`: its program and the diagnostics outside node_modules, formatted. */
function compile(tsconfig: string) {
  const config = ts.getParsedCommandLineOfConfigFile(tsconfig, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  })!;
  const program = ts.createProgram(config.fileNames, config.options);
  const ours = ts.getPreEmitDiagnostics(program).filter((d) => !d.file?.fileName.includes('/node_modules/'));
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: ts.sys.getCurrentDirectory, getNewLine: () => '\n' };
  return { program, errors: ts.formatDiagnostics(ours, host) };
}

describe('the package as TypeScript consumers compile it', () => {
  it('type-checks a module: node16 .cts consumer of every entry point against CommonJS declarations', () => {
    expect(existsSync(`${DIST}index.cjs`), 'dist/ is missing: npm run build').toBe(true);
    const { program, errors } = compile(TSCONFIG);
    expect(errors).toBe('');
    const fromDist = program.getSourceFiles().map((f) => f.fileName).filter((f) => f.startsWith(DIST)).map((f) => f.slice(DIST.length));
    expect(fromDist).toEqual(expect.arrayContaining(['index.d.cts', 'server/index.d.cts', 'testing/index.d.cts']));
    // No ESM declaration came in through an import left naming a .js file.
    expect(fromDist.filter((f) => !f.endsWith('.d.cts'))).toEqual([]);
  }, 60_000);

  it('type-checks a Node ESM consumer without the DOM lib: the client names no DOM type, and ws fits platform.WebSocket', () => {
    expect(existsSync(`${DIST}index.mjs`), 'dist/ is missing: npm run build').toBe(true);
    expect(compile(NODE_TSCONFIG).errors).toBe('');
  }, 60_000);

  it('resolves the subpath types under moduleResolution node10 too (typesVersions), where exports are not read', () => {
    expect(existsSync(`${DIST}server/index.d.ts`), 'dist/ is missing: npm run build').toBe(true);
    // node10 does not resolve a package by its own name: install it as a dependency would be, by a link.
    const app = mkdtempSync(join(tmpdir(), 'cometkit-node10-'));
    try {
      mkdirSync(join(app, 'node_modules'));
      symlinkSync(fileURLToPath(new URL('../../', import.meta.url)), join(app, 'node_modules', 'cometkit'), 'dir');
      writeFileSync(
        join(app, 'app.ts'),
        "import { createClient } from 'cometkit';\nimport { createServer } from 'cometkit/server';\nimport { createMockServer } from 'cometkit/testing';\n" +
          "export const all = [createClient({ url: 'http://x/c' }), createServer({ path: '/c' }), createMockServer({ url: 'http://x/c' })];\n",
      );
      const program = ts.createProgram([join(app, 'app.ts')], {
        strict: true, noEmit: true, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
        target: ts.ScriptTarget.ES2022, skipLibCheck: true, types: ['node'], typeRoots: [fileURLToPath(new URL('../../node_modules/@types', import.meta.url))],
        ignoreDeprecations: '6.0',
      });
      const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(errors).toEqual([]);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 60_000);
});
