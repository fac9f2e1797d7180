// A test that plays a running cvm: this process takes the data directory's lock, as `cvm start` does.
import { acquireInstanceLock } from '../../bin/instance-lock.ts';

/** Returns the release. CLI commands spawned meanwhile find the store held. */
export async function holdStore(dir: string): Promise<() => Promise<void>> {
  const got = await acquireInstanceLock(dir);
  if ('held' in got) throw new Error(`${dir} is held already`);
  return () => got.lock.release();
}
