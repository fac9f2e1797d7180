// librdkafka's mock cluster with its fault controls (mock-cluster.py, through Python's ctypes): brokers can
// be taken down and brought back, and topics created with a chosen partition count. Needs kcat's library
// (librdkafka, Debian: kcat or librdkafka1) and python3; without them the Kafka fault tests skip, saying so.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'mock-cluster.py');

export interface MockCluster {
  brokers: string[];
  /** Sends one command ("down 1", "up 1", "topic NAME 8", "fail API_KEY ERROR_CODE COUNT") and waits for its answer. */
  command(line: string): Promise<void>;
  stop(): Promise<void>;
}

/** Why the mock cluster cannot run here, or null when it can. */
export function mockClusterUnavailable(): string | null {
  const probe = spawnSync('python3', ['-c', 'import ctypes, ctypes.util; ctypes.CDLL(ctypes.util.find_library("rdkafka") or "librdkafka.so.1")'], { encoding: 'utf8' });
  if (probe.error) return `python3 not found (${probe.error.message})`;
  if (probe.status !== 0) return `librdkafka not loadable from python3: ${probe.stderr.trim().split('\n').pop()}`;
  return null;
}

export async function startMockCluster(brokers = 1, timeoutMs = 10_000): Promise<MockCluster> {
  // CVM_MOCK_CLUSTER_LOG=FILE: librdkafka's debug lines for the mock (groups, members, connections) go there.
  const debugLog = process.env.CVM_MOCK_CLUSTER_LOG;
  const child: ChildProcess = spawn('python3', [SCRIPT, String(brokers), ...(debugLog ? ['debug'] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  if (debugLog) child.stderr!.pipe(fs.createWriteStream(debugLog, { flags: 'a' }));
  else child.stderr!.resume(); // librdkafka's own warnings
  let buffered = '';
  const waiters: Array<(line: string) => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      waiters.shift()?.(line);
    }
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('kafka mock cluster did not answer in time')), timeoutMs);
      waiters.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const ready = await nextLine();
  if (!ready.startsWith('ready ')) throw new Error(`kafka mock cluster failed to start: ${ready}`);
  let queue = Promise.resolve();
  return {
    brokers: ready.slice('ready '.length).split(','),
    command(line: string) {
      const run = queue.then(async () => {
        const answer = nextLine();
        child.stdin!.write(line + '\n');
        const got = await answer;
        if (!got.startsWith('ok ')) throw new Error(`kafka mock cluster: '${line}' failed: ${got}`);
      });
      queue = run.catch(() => undefined);
      return run;
    },
    stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.stdin!.end();
      });
    },
  };
}
