// Directory rules shared by backup and restore.
import fs from 'node:fs';
import path from 'node:path';

/** True when `child` is `parent` or lies inside it (by path, before any directory exists). */
export function insideOrSame(parent: string, child: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** What a directory holds, leaving out the instance lock's socket file (it is no data). */
export function entriesOf(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => n !== 'cvm.sock');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
