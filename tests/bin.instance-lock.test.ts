// The data directory's lock: a listening Unix socket the kernel frees when its holder dies, in both forms
// (Linux's abstract name, and the socket file used elsewhere).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/runtime.ts';
import { acquireInstanceLock, describeHolder, lockAddress, queryHolder, queryHolderSync, type InstanceLock, type LockMode } from '../bin/instance-lock.ts';

const LOCK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'instance-lock.ts');

// A separate process that takes the lock at `goAt` (ms since epoch), says what it got, and holds it.
const HOLDER = `
import { acquireInstanceLock } from ${JSON.stringify(LOCK)};
const [dir, mode, goAt] = process.argv.slice(1);
const wait = Number(goAt) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
const got = await acquireInstanceLock(dir, { mode });
if ('held' in got) { console.log(JSON.stringify({ held: got.held })); process.exit(3); }
got.lock.update({ url: 'http://holder.test:1' });
console.log(JSON.stringify({ won: process.pid }));
setInterval(() => {}, 1000);
`;
const nodeArgs = (dir: string, mode: LockMode, goAt = 0) => ['--import', 'tsx', '--input-type=module', '-e', HOLDER, dir, mode, String(goAt)];

const children: ChildProcess[] = [];
const locks: InstanceLock[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const l of locks.splice(0)) await l.release();
});

function lines(child: ChildProcess): { next: () => Promise<string>; all: () => string } {
  let out = '';
  const waiting: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiting.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    all: () => out,
    next: () =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolve(line);
          else waiting.push(check);
        };
        child.once('close', () => reject(new Error(`ended without an answer:\n${out}`)));
        check();
      }),
  };
}

const procState = (pid: number) => {
  try {
    return /\) (\S)/.exec(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
};

async function take(dir: string, mode: LockMode): Promise<InstanceLock> {
  const got = await acquireInstanceLock(dir, { mode });
  if ('held' in got) throw new Error(`held by ${describeHolder(got.held)}`);
  locks.push(got.lock);
  return got.lock;
}

describe.each<LockMode>(['abstract', 'file'])('instance lock (%s)', (mode) => {
  it('is taken once, names its holder, and is free again after release', async () => {
    const dir = tempDir('cvm-lock-');
    expect(await queryHolder(dir, { mode })).toBeNull();
    const lock = await take(dir, mode);
    lock.update({ url: 'http://127.0.0.1:4321' });

    const second = await acquireInstanceLock(dir, { mode });
    expect('held' in second && second.held.info).toMatchObject({ pid: process.pid, url: 'http://127.0.0.1:4321', data_dir: fs.realpathSync(dir) });
    expect((await queryHolder(dir, { mode }))?.info?.pid).toBe(process.pid);
    // The CLI's synchronous form asks from a child process; this process's loop is blocked meanwhile,
    // so the holder is found (it takes the connection) but cannot say who it is.
    expect(queryHolderSync(dir, { mode })).toEqual({ info: null });

    await lock.release();
    locks.splice(locks.indexOf(lock), 1);
    expect(await queryHolder(dir, { mode })).toBeNull();
    expect(queryHolderSync(dir, { mode })).toBeNull();
    await take(dir, mode);
  });

  it('answers the synchronous query with the holder when that is another process', async () => {
    const dir = tempDir('cvm-lock-');
    const child = spawn(process.execPath, nodeArgs(dir, mode), { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    expect(JSON.parse(await lines(child).next())).toEqual({ won: child.pid });
    expect(queryHolderSync(dir, { mode })?.info).toMatchObject({ pid: child.pid, url: 'http://holder.test:1' });
    expect(describeHolder(queryHolderSync(dir, { mode })!)).toBe(`pid ${child.pid}, http://holder.test:1`);
  });

  it('is free as soon as its holder is killed -9, though the dead holder is a zombie nobody reaped', async () => {
    const dir = tempDir('cvm-lock-');
    // bash with job control puts the holder in its own group, then becomes `sleep`, which never reaps it.
    const cmd = [process.execPath, ...nodeArgs(dir, mode)].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const wrapper = spawn('bash', ['-c', `set -m; ${cmd} & echo "pid $!"; exec sleep 600`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(wrapper);
    const out = lines(wrapper);
    const won = JSON.parse(await out.next()) as { won: number };
    expect(out.all()).toContain(`pid ${won.won}`);
    process.kill(-won.won, 'SIGKILL');
    for (let i = 0; i < 100 && procState(won.won) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(procState(won.won)).toBe('Z');
    expect(() => process.kill(won.won, 0)).not.toThrow(); // what the old pid check took for "alive"

    if (mode === 'file') expect(fs.existsSync(lockAddress(dir, mode))).toBe(true); // the stale socket file
    expect(await queryHolder(dir, { mode })).toBeNull();
    const lock = await take(dir, mode);
    expect((await queryHolder(dir, { mode }))?.info?.pid).toBe(process.pid);
    expect(lock.address).toBe(lockAddress(dir, mode));
  });

  it('of several processes racing for it at one instant, exactly one wins and the others name it', async () => {
    const dir = tempDir('cvm-lock-');
    const goAt = Date.now() + 4000;
    const racers = Array.from({ length: 5 }, () => spawn(process.execPath, nodeArgs(dir, mode, goAt), { stdio: ['ignore', 'pipe', 'pipe'] }));
    children.push(...racers);
    const answers = (await Promise.all(racers.map((c) => lines(c).next()))).map((l) => JSON.parse(l) as { won?: number; held?: { info: { pid: number } | null } });
    const winners = answers.filter((a) => a.won !== undefined);
    expect(winners, JSON.stringify(answers)).toHaveLength(1);
    for (const a of answers.filter((x) => x.held)) expect(a.held!.info?.pid).toBe(winners[0]!.won);
  });
});

it('file mode: of several processes finding one stale socket file at once, exactly one takes it over', async () => {
  const dir = tempDir('cvm-lock-');
  const address = lockAddress(dir, 'file');
  // A holder that died without cleaning up: exit() skips the close that would unlink the file.
  const dead = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(address)}, () => process.exit(0))`]);
  await new Promise((r) => dead.once('exit', r));
  expect(fs.statSync(address).isSocket()).toBe(true);
  const goAt = Date.now() + 4000;
  const racers = Array.from({ length: 5 }, () => spawn(process.execPath, nodeArgs(dir, 'file', goAt), { stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(...racers);
  const answers = (await Promise.all(racers.map((c) => lines(c).next()))).map((l) => JSON.parse(l) as { won?: number; held?: { info: { pid: number } | null } });
  const winners = answers.filter((a) => a.won !== undefined);
  expect(winners, JSON.stringify(answers)).toHaveLength(1);
  for (const a of answers.filter((x) => x.held)) expect(a.held!.info?.pid).toBe(winners[0]!.won);
  expect(queryHolderSync(dir, { mode: 'file' })?.info?.pid).toBe(winners[0]!.won);
  expect(fs.readdirSync(path.dirname(address)).filter((f) => f.startsWith('cvm.sock'))).toEqual(['cvm.sock']); // no temp or stale names left
});

it('file mode moves a socket path that would not fit sun_path to the temporary directory', async () => {
  const dir = path.join(tempDir('cvm-lock-'), 'x'.repeat(90));
  fs.mkdirSync(dir);
  const address = lockAddress(dir, 'file');
  expect(address.startsWith(path.join(fs.realpathSync(dir), ''))).toBe(false);
  await take(dir, 'file');
  expect((await queryHolder(dir, { mode: 'file' }))?.info?.pid).toBe(process.pid);
});

it('finds no holder for a directory that does not exist', async () => {
  expect(await queryHolder(path.join(tempDir('cvm-lock-'), 'none'))).toBeNull();
  expect(queryHolderSync(path.join(tempDir('cvm-lock-'), 'none'))).toBeNull();
});
