// `cvm start` as a supervisor runs it: in a process group of its own, so a test can kill -9 the whole
// group. `reaper: false` puts it under a parent that never reaps it (bash with job control, exec'd into
// `sleep`): the killed cvm then stays a zombie, which pid checks took for a live process.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CVM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'cvm.mjs');

export interface CvmGroup {
  /** The cvm process, also its process group's id. */
  pid: number;
  output: () => string;
  /** Resolves with the URL once cvm says it runs; rejects if it ends first (or after `timeoutMs`). */
  ready: Promise<string>;
  /** The exit code where the test is the parent (`reaper: true`); null when killed by a signal. */
  exited: Promise<number | null>;
  killGroup: (signal: NodeJS.Signals) => void;
  /** Ends the non-reaping parent, so the zombie is reaped (by init). */
  dispose: () => void;
}

export async function startCvmGroup(env: Record<string, string>, opts: { reaper?: boolean; timeoutMs?: number } = {}): Promise<CvmGroup> {
  const fullEnv = { ...process.env, CVM_LOG_LEVEL: 'warn', PORT: '0', CVM_DEMO: 'false', ...env };
  const reaper = opts.reaper ?? true;
  const child: ChildProcess = reaper
    ? spawn(process.execPath, [CVM, 'start'], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn('bash', ['-c', `set -m; "${process.execPath}" "${CVM}" start & echo "cvm-pid $!"; exec sleep 600`], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners: Array<() => void> = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = reaper
    ? child.pid!
    : await new Promise<number>((resolve, reject) => {
        const check = () => {
          const m = /cvm-pid (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        };
        listeners.push(check);
        void exited.then(() => reject(new Error(`wrapper ended:\n${out}`)));
      });
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cvm did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /health\s+(http:\/\/[\w.]+:\d+)\/health/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    listeners.push(check);
    check();
    // Where the test is not the parent, "ended" is seen as the pid no longer running.
    const ended = reaper ? exited.then(() => undefined) : gone(pid);
    void ended.then(() => {
      clearTimeout(timer);
      reject(new Error(`cvm ended before it was ready:\n${out}`));
    });
  });
  ready.catch(() => {}); // a test that expects the loser to end does not await it
  return {
    pid,
    output: () => out,
    ready,
    exited,
    killGroup: (signal) => {
      try {
        process.kill(-pid, signal);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    },
    dispose: () => {
      if (!reaper) child.kill('SIGKILL');
    },
  };
}

/** The process state letter from /proc (R, S, Z, …), or null once the process is gone. */
export function procState(pid: number): string | null {
  try {
    return /\) (\S)/.exec(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

async function gone(pid: number): Promise<void> {
  for (;;) {
    const s = procState(pid);
    if (s === null || s === 'Z') return;
    await new Promise((r) => setTimeout(r, 200).unref());
  }
}
