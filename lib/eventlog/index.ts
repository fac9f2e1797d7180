import path from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { EventLog } from './types.ts';

export * from './types.ts';

/** Kafka when KAFKA_BROKERS is set, otherwise the embedded durable log under CVM_DATA_DIR. */
export async function openEventLog(config: Config, log: Logger): Promise<EventLog> {
  if (config.kafka) {
    const { KafkaEventLog } = await import('./kafka.ts');
    const k = config.kafka;
    const kafka = await KafkaEventLog.connect(
      {
        brokers: k.brokers, clientId: k.clientId, idempotent: k.idempotent, sessionTimeoutMs: k.sessionTimeoutMs,
        heartbeatIntervalMs: Math.min(1000, k.sessionTimeoutMs / 6),
        // Every role that opens the log waits here for the brokers (a compose file or a reboot starts them late).
        startupTimeoutMs: config.startup.timeoutS * 1000,
      },
      log,
    );
    // Enough partitions for transformers to scale out; brokers without the admin API (or a controller) skip this
    // and auto-create the topic on first use (ensureTopic logs which).
    await kafka.ensureTopic(config.topics.events, k.partitions);
    await kafka.ensureTopic(config.topics.bulk, k.partitions);
    return kafka;
  }
  const { EmbeddedEventLog } = await import('./embedded.ts');
  return EmbeddedEventLog.open({
    dir: path.join(config.dataDir, 'log'),
    maxBytes: config.log.maxBytes,
    retentionMs: config.log.retentionHours * 3600_000,
    log,
  });
}
