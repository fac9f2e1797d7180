// CVM_BACKUP_CRON in the scheduler role: a backup into CVM_BACKUP_DIR on every tick, then the oldest
// beyond CVM_BACKUP_KEEP are deleted. A tick while a backup still runs is skipped, not queued.
import cron from 'node-cron';
import type { ClickHouse } from '../clickhouse.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { BackupBusyError, createBackup, unsupportedReason } from './backup.ts';
import { pruneBackups } from './retention.ts';

export async function scheduledBackup(deps: { config: Config; ch: ClickHouse; log: Logger }): Promise<string | null> {
  const log = deps.log.child({ name: 'backup' });
  try {
    const r = await createBackup({ ...deps, log });
    const removed = pruneBackups(deps.config.backup.dir, deps.config.backup.keep);
    log.info({ backup: r.path, bytes: r.bytes, removed }, 'scheduled backup done');
    return r.path;
  } catch (err) {
    if (err instanceof BackupBusyError) log.info('scheduled backup skipped: a backup is running');
    else log.error({ err }, 'scheduled backup failed');
    return null;
  }
}

export function scheduleBackups(deps: { config: Config; ch: ClickHouse; log: Logger }): { stop(): void | Promise<void> } {
  const why = unsupportedReason(deps.config);
  if (why) {
    deps.log.warn({ reason: why }, 'CVM_BACKUP_CRON is set but this store is not backed up by cvm');
    return { stop: () => {} };
  }
  return cron.schedule(deps.config.backup.cron, () => void scheduledBackup(deps));
}
