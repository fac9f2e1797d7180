// Line-by-line reading of transaction files, plain or gzipped, without loading them whole
// (the UCI file is 48 MB uncompressed).
import fs from 'node:fs';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { TransactionFileError } from './errors.ts';

/** True when the file starts with the gzip magic bytes 1f 8b (the name is not trusted). */
export function isGzip(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const n = fs.readSync(fd, buf, 0, 2, 0);
    return n === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

export function checkReadable(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new TransactionFileError(`transaction file not found: ${file}`);
  }
  if (!st.isFile()) throw new TransactionFileError(`not a file: ${file}`);
}

/**
 * The file's lines without their line endings (LF or CRLF), in batches of one read chunk each, gunzipped
 * on the fly when needed. Batches keep the per-line cost synchronous: an await per line of a
 * half-million-line file costs seconds.
 */
export async function* readLineBatches(file: string): AsyncGenerator<string[]> {
  checkReadable(file);
  const raw = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  let input: NodeJS.ReadableStream & AsyncIterable<string | Buffer> = raw;
  if (isGzip(file)) {
    const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
    // pipeline() forwards a read error of the file into the gunzip stream, so iteration throws it.
    pipeline(raw, gunzip, () => undefined);
    input = gunzip;
  }
  input.setEncoding('utf8'); // decodes multi-byte characters split across chunks
  let carry = '';
  try {
    for await (const chunk of input) {
      const text = carry + (chunk as string);
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
      }
      if (lines.length > 0) yield lines;
    }
  } catch (err) {
    throw new TransactionFileError(`cannot read ${file}: ${(err as Error).message}`);
  } finally {
    raw.destroy();
  }
  if (carry.length > 0) yield [carry.endsWith('\r') ? carry.slice(0, -1) : carry];
}

/** The first line of a file (for guessing its layout), or null when it is empty. */
export async function firstLine(file: string): Promise<string | null> {
  for await (const batch of readLineBatches(file)) {
    if (batch.length > 0) return batch[0]!;
  }
  return null;
}
