// Picks the TensorFlow.js backend once per process: the native tfjs-node binding when it is installed
// (optional dependency, usually absent), otherwise the WebAssembly backend, and the plain JS backend
// as a last resort. Any model module can `await initTf()` and use the returned namespace.
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

export type Tf = typeof tf;

let selected: Promise<string> | null = null;

/** The tfjs namespace with a backend chosen and ready. Safe to call many times. */
export async function initTf(): Promise<Tf> {
  selected ??= selectBackend();
  await selected;
  return tf;
}

/** Name of the backend in use ('tensorflow', 'wasm' or 'cpu'). */
export async function tfBackendName(): Promise<string> {
  await initTf();
  return tf.getBackend();
}

/** Folder with the .wasm binaries; Node has no page URL to resolve them against, so it must be given. */
export function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

async function selectBackend(): Promise<string> {
  if (await tryNative()) return 'tensorflow';
  try {
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
    setWasmPaths(wasmDir());
    if (await tf.setBackend('wasm')) return 'wasm';
  } catch {
    // fall through to the JS backend
  }
  await tf.setBackend('cpu');
  return 'cpu';
}

async function tryNative(): Promise<boolean> {
  // NOTE: the name lives in a variable so TypeScript does not try to resolve a package that is usually absent.
  const name = '@tensorflow/tfjs-node';
  try {
    await import(name);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}
