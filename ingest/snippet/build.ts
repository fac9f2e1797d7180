// Builds cvm.js from cvm.src.ts: esbuild (a dependency of tsx) bundles, lowers to ES2017 and minifies
// in ~50 ms, so the collector builds it once at start-up instead of shipping a generated file.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export interface BuiltSnippet {
  code: string;
  gzip: Buffer;
  /** Weak validator shared by the plain and gzip bodies. */
  etag: string;
}

/** Shops paste the loader once; cvm.js itself must stay small for their page speed. */
export const SNIPPET_GZIP_BUDGET = 6144;

const SOURCE = fileURLToPath(new URL('./cvm.src.ts', import.meta.url));

export async function buildSnippet(): Promise<BuiltSnippet> {
  const result = await build({
    entryPoints: [SOURCE],
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    target: 'es2017',
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  const gzip = gzipSync(code, { level: 9 });
  const etag = `W/"${createHash('sha256').update(code).digest('base64url').slice(0, 22)}"`;
  return { code, gzip, etag };
}

let cached: Promise<BuiltSnippet> | null = null;

/** The build, made once per process. */
export function snippet(): Promise<BuiltSnippet> {
  cached ??= buildSnippet().catch((err: unknown) => {
    cached = null;
    throw err;
  });
  return cached;
}
