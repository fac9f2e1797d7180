import { createHash } from 'node:crypto';

/**
 * A UUID in version-5 layout from the SHA-1 of `text`: the same input always gives the same id, so a
 * re-sent order, a re-imported file or a re-delivered dead letter folds into the row it made before.
 */
export function sha1Uuid(text: string): string {
  const h = createHash('sha1').update(text).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
