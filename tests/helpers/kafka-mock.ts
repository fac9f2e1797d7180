// librdkafka's mock cluster, started through kcat: a real Kafka protocol endpoint without a JVM.
// kcat consumes a keepalive topic so the process (and the mock brokers inside it) stays up.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface KafkaMock {
  /** host:port of the mock broker(s). */
  brokers: string[];
  stop(): Promise<void>;
}

export function kcatAvailable(): boolean {
  return spawnSync('which', ['kcat'], { stdio: 'ignore' }).status === 0;
}

/** Printed by tests that skip because kcat is missing, so the skip is never silent. */
export const KCAT_MISSING =
  'kcat not found: Kafka tests are SKIPPED. Install it (Debian: apt-get install -y kcat) to run them against librdkafka\'s mock cluster.';

// `-d mock` logs "... bootstrap.servers=HOST:PORT"; without it the notice line says "... replaced with HOST:PORT".
const BOOTSTRAP = /(?:bootstrap\.servers=|replaced with )([\w.-]+:\d+(?:,[\w.-]+:\d+)*)/;

export async function startKafkaMock(opts: { brokers?: number; debug?: boolean; timeoutMs?: number } = {}): Promise<KafkaMock> {
  const args = ['-X', `test.mock.num.brokers=${opts.brokers ?? 1}`, '-b', 'localhost:1', '-C', '-t', 'keepalive', '-q'];
  // NOTE: `-d mock` logs every request the mock serves; useful when debugging, costly otherwise.
  if (opts.debug) args.push('-d', 'mock');
  const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A test process that dies without stop() must not leave a mock cluster behind.
  const killOnExit = (): void => { child.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));

  const brokers = await new Promise<string[]>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`kafka mock: no bootstrap address within ${opts.timeoutMs ?? 10_000} ms:\n${seen.slice(-2000)}`)), opts.timeoutMs ?? 10_000);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const m = BOOTSTRAP.exec(seen);
      if (m?.[1]) done(m[1].split(','));
    };
    const onExit = (code: number | null): void => fail(new Error(`kafka mock: kcat exited (${code}) before it was ready:\n${seen.slice(-2000)}`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', fail);
    };
    function done(list: string[]): void { cleanup(); resolve(list); }
    function fail(err: Error): void { cleanup(); child.kill('SIGKILL'); reject(err); }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', fail);
  });

  // Keep draining the pipes: a full pipe would block kcat, and with it the mock brokers.
  child.stdout?.resume();
  child.stderr?.resume();

  return { brokers, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => { clearTimeout(force); resolve(); });
    child.kill('SIGTERM');
  });
}
