// A real `cvm start` child process, for tests that kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CVM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'cvm.mjs');

export interface CvmProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

export async function startCvm(env: Record<string, string>, timeoutMs = 60_000): Promise<CvmProcess> {
  const child = spawn(process.execPath, [CVM, 'start'], {
    env: { ...process.env, CVM_LOG_LEVEL: 'warn', PORT: '0', CVM_DEMO: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cvm did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /health\s+(http:\/\/[\d.]+:\d+)\/health/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`cvm exited (${code}) before it was ready:\n${out}`));
    });
  });
  return { child, url, output: () => out, exited };
}

export async function waitForHealthyDrain(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok && (await res.json()).transform_lag === 0) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('transformer did not catch up in time');
}

/**
 * One CLI command (`node bin/cvm.mjs …`) as a user runs it, to its end. The caller's CVM_ADMIN_KEY is not
 * passed on: each test says which key the command gets (or that it reads `<dataDir>/admin.key`).
 */
export function runCvm(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { CVM_ADMIN_KEY: _notPassed, ...inherited } = process.env;
    const child = spawn(process.execPath, [CVM, ...args], { env: { ...inherited, CVM_LOG_LEVEL: 'error', CVM_DEMO: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
