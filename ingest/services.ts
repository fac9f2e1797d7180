// What the collector needs from the process's service record.
import type { AppDeps } from '../lib/app-deps.ts';
import type { WriteKeyResolver } from './write-keys.ts';

export interface IngestServices {
  /** Resolves a write key to its site and allowed origins (config keys plus keys created through the API). */
  writeKeys: WriteKeyResolver;
}

export type IngestDeps = AppDeps<IngestServices>;
