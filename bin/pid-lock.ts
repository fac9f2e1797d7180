// chDB binds a data directory to one process. `cvm start` records its pid in the data directory so other
// commands can tell the store is held and say what to do instead.
import fs from 'node:fs';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of a live cvm holding this data directory, or null. */
export function lockHolder(dataDir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'cvm.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Takes the lock for this process; returns the holder's pid instead when another live process has it. */
export function acquirePidLock(dataDir: string): number | null {
  const holder = lockHolder(dataDir);
  if (holder !== null) return holder;
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, 'cvm.pid'), String(process.pid));
  return null;
}
