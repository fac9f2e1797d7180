// One cvm per data directory (chDB binds a directory to one process). The lock is a listening Unix
// socket, which the kernel closes when its process dies however it dies: kill -9, the OOM killer, a
// zombie its parent has not reaped yet (a zombie holds no sockets), a container restart that hands the
// old pid to another process. So liveness never comes from a pid.
// Whoever connects gets one JSON line naming the holder: a losing `cvm start` and the CLI commands that
// refuse a held store say which process has it and where it serves.
//
// Linux: an abstract socket, `\0cvm:<sha256 of the directory's real path>`. bind() is the lock itself:
// atomic (of two racing starts exactly one binds), no file to go stale, no path-length limit. It is
// scoped to a network namespace: two containers with separate networks sharing one volume are not kept
// apart (keep one cvm per volume).
// Elsewhere: a socket file, `<dataDir>/cvm.sock` (takeFile explains the stale file and its race).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface HolderInfo {
  pid: number;
  url: string | null;
  started_at: string;
  data_dir: string;
}

/** A live holder; `info` is null when it took the connection but did not answer in time (a busy loop). */
export interface Held {
  info: HolderInfo | null;
}

export interface InstanceLock {
  readonly address: string;
  /** What the holder answers from now on (the URL is known only once the server listens). */
  update(info: Partial<Pick<HolderInfo, 'url'>>): void;
  /** Frees the lock (the kernel does the same if the process dies first). */
  release(): Promise<void>;
}

export type LockMode = 'abstract' | 'file';
export type Acquired = { lock: InstanceLock } | { held: Held };

const defaultMode = (): LockMode => (process.platform === 'linux' ? 'abstract' : 'file');

// sun_path holds 108 bytes on Linux and 104 on macOS, NUL included; file mode binds `<name>.<pid>.<hex>`.
const SUN_PATH_MAX = 103;
const TEMP_SUFFIX = 24;
const ATTEMPTS = 40;
const ANSWER_MS = 1500;

const digest = (dir: string) => crypto.createHash('sha256').update(dir).digest('hex');

/** Where the lock of this (existing) directory lives. */
export function lockAddress(dataDir: string, mode: LockMode = defaultMode()): string {
  const real = fs.realpathSync(dataDir);
  if (mode === 'abstract') return `\0cvm:${digest(real)}`;
  const inDir = path.join(real, 'cvm.sock');
  if (Buffer.byteLength(inDir) + TEMP_SUFFIX <= SUN_PATH_MAX) return inDir;
  return path.join(os.tmpdir(), `cvm-${digest(real).slice(0, 16)}.sock`);
}

export function describeHolder(held: Held): string {
  if (!held.info) return 'a process that did not say which';
  return held.info.url ? `pid ${held.info.pid}, ${held.info.url}` : `pid ${held.info.pid}`;
}

/** Takes the lock of `dataDir` (creating the directory), or says who holds it. */
export async function acquireInstanceLock(dataDir: string, opts: { mode?: LockMode } = {}): Promise<Acquired> {
  fs.mkdirSync(dataDir, { recursive: true });
  const mode = opts.mode ?? defaultMode();
  const address = lockAddress(dataDir, mode);
  const info: HolderInfo = { pid: process.pid, url: null, started_at: new Date().toISOString(), data_dir: fs.realpathSync(dataDir) };
  const server = net.createServer((sock) => {
    sock.on('error', () => {}); // a client that hangs up first is no concern of the holder
    sock.end(`${JSON.stringify(info)}\n`);
  });
  server.unref(); // the lock alone does not keep a process alive
  const got = mode === 'abstract' ? await takeAbstract(server, address) : await takeFile(server, address);
  if ('held' in got) return got;
  // Left by versions that locked by pid; nothing reads it any more.
  fs.rmSync(path.join(dataDir, 'cvm.pid'), { force: true });
  return {
    lock: {
      address,
      update: (next) => void Object.assign(info, next),
      release: async () => {
        if (got.release) got.release();
        if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    },
  };
}

/** The live holder of `dataDir`, or null. */
export async function queryHolder(dataDir: string, opts: { mode?: LockMode } = {}): Promise<Held | null> {
  const address = existingAddress(dataDir, opts.mode);
  if (address === null) return null;
  for (let i = 0; i < ATTEMPTS; i++) {
    const p = await probe(address);
    if (p.state === 'held') return { info: p.info };
    if (p.state !== 'dying') return null;
    await pause(25);
  }
  return null;
}

/** queryHolder for synchronous callers (the CLI's store guard): the probe runs in a short child process. */
export function queryHolderSync(dataDir: string, opts: { mode?: LockMode } = {}): Held | null {
  const address = existingAddress(dataDir, opts.mode);
  if (address === null) return null;
  const r = spawnSync(process.execPath, ['-e', PROBE_JS, JSON.stringify(address), String(ANSWER_MS)], { encoding: 'utf8', timeout: ANSWER_MS + 10_000 });
  if (r.error || r.status !== 0) throw new Error(`could not test the lock of ${dataDir}: ${r.error?.message ?? r.stderr}`);
  const p = JSON.parse(r.stdout) as { state: Probe['state']; line?: string };
  return p.state === 'held' ? { info: parseInfo(p.line ?? '') } : null;
}

function existingAddress(dataDir: string, mode?: LockMode): string | null {
  try {
    return lockAddress(dataDir, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // no directory, no holder
    throw err;
  }
}

type Taken = { held: Held } | { release?: () => void };

// Abstract names: a bind that fails with EADDRINUSE means a live holder, full stop. A holder that refuses
// the connection is between bind and listen, or just died: try the bind again.
async function takeAbstract(server: net.Server, address: string): Promise<Taken> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const err = await listen(server, address);
    if (!err) return {};
    if (err.code !== 'EADDRINUSE') throw err;
    const p = await probe(address);
    if (p.state === 'held') return { held: { info: p.info } };
    await pause(25);
  }
  return { held: { info: null } };
}

// Socket files. The name appears only once it listens: bind a private name, then link() it to the lock's
// name, which fails if the name exists (atomic, so one of two racing starts wins). A name that refuses
// connections is therefore stale: its process died. Removing it races with another start that found it
// stale too and already linked its own live socket there; so the stale name is renamed aside (atomic) and
// deleted only if it is the very file found stale (same inode), else put back. What is left: a third start
// taking the name in the instant between that rename and the putting back (three starts at once on a
// stale file, and only where there are no abstract sockets).
async function takeFile(server: net.Server, address: string): Promise<Taken> {
  const temp = `${address}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  const err = await listen(server, temp);
  if (err) throw err;
  const mine = identity(fs.lstatSync(temp));
  try {
    for (let i = 0; i < ATTEMPTS; i++) {
      try {
        fs.linkSync(temp, address);
        return { release: () => identityOf(address) === mine && fs.rmSync(address, { force: true }) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const found = identityOf(address);
      if (found === null) continue;
      const p = await probe(address);
      if (p.state === 'held') {
        server.close();
        return { held: { info: p.info } };
      }
      if (p.state === 'refused') removeStale(address, found);
      if (p.state === 'dying') await pause(25);
    }
    throw new Error(`could not take the lock ${address}: it kept changing hands`);
  } catch (e) {
    server.close();
    throw e;
  } finally {
    fs.rmSync(temp, { force: true }); // the socket stays reachable through the lock's name
  }
}

function removeStale(address: string, found: string): void {
  const aside = `${address}.stale.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(address, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (identityOf(aside) !== found) {
    try {
      fs.linkSync(aside, address); // someone's live lock: put it back
    } catch {
      // the residual three-way race described above
    }
  }
  fs.rmSync(aside, { force: true });
}

const identity = (st: fs.Stats) => `${st.dev}:${st.ino}`;

function identityOf(file: string): string | null {
  try {
    return identity(fs.lstatSync(file));
  } catch {
    return null;
  }
}

function listen(server: net.Server, address: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException) => resolve(err);
    server.once('error', onError);
    server.listen({ path: address }, () => {
      server.off('error', onError);
      resolve(null);
    });
  });
}

type Probe = { state: 'held'; info: HolderInfo | null } | { state: 'refused' | 'absent' | 'dying' };

// Connecting is the liveness test: refused means nobody listens. A connection that is accepted but not
// answered (the holder's event loop is busy) still means a live holder, only an unnamed one. A reset one
// means a holder that is dying: the kernel closes a killed process's sockets when its last thread is gone,
// a moment after its main thread already shows as a zombie.
function probe(address: string): Promise<Probe> {
  return new Promise((resolve) => {
    const sock = net.connect({ path: address });
    let line = '';
    let settled = false;
    const done = (p: Probe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(p);
    };
    const timer = setTimeout(() => done({ state: 'held', info: null }), ANSWER_MS);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      line += chunk;
      if (line.includes('\n')) done({ state: 'held', info: parseInfo(line) });
    });
    // A holder always answers before it hangs up: a bare hang-up is one that died with us in its queue.
    sock.on('end', () => done(line ? { state: 'held', info: parseInfo(line) } : { state: 'dying' }));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const state = err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ENOENT' ? 'absent' : err.code === 'ECONNRESET' ? 'dying' : null;
      done(state ? { state } : { state: 'held', info: null });
    });
  });
}

// The same probe as plain JavaScript for `node -e` (no TypeScript loader there): prints {state, line}.
const PROBE_JS = `
const net = require('node:net');
const [address, ms] = [JSON.parse(process.argv[1]), Number(process.argv[2])];
const done = (state, line) => { process.stdout.write(JSON.stringify({ state, line })); process.exit(0); };
const attempt = (left) => {
  const sock = net.connect({ path: address });
  let line = '';
  const timer = setTimeout(() => done('held', line), ms);
  sock.setEncoding('utf8');
  sock.on('data', (c) => { line += c; if (line.includes('\\n')) done('held', line); });
  sock.on('end', () => (line ? done('held', line) : sock.emit('error', { code: 'ECONNRESET' })));
  sock.on('error', (e) => {
    const state = { ECONNREFUSED: 'refused', ENOENT: 'absent', ECONNRESET: 'dying' }[e.code] ?? 'held';
    if (state !== 'dying' || left === 0) return done(state === 'dying' ? 'refused' : state, line);
    clearTimeout(timer);
    setTimeout(() => attempt(left - 1), 25);
  });
};
attempt(${ATTEMPTS});
`;

function parseInfo(line: string): HolderInfo | null {
  try {
    const v = JSON.parse(line.split('\n')[0]!) as Partial<HolderInfo>;
    return typeof v.pid === 'number' ? { pid: v.pid, url: v.url ?? null, started_at: String(v.started_at ?? ''), data_dir: String(v.data_dir ?? '') } : null;
  } catch {
    return null;
  }
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
