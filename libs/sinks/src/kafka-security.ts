/** The TLS and SASL options of a Kafka client from the [kafka] settings (a CA file is read here). */
import { readFileSync } from 'node:fs';
import type { KafkaConnection } from '@parsedmarc-ts/kafka';
import type { KafkaSecurity } from './config.js';
import { SinkError } from './errors.js';

export function kafkaConnectionSecurity(security: KafkaSecurity): Pick<KafkaConnection, 'ssl' | 'sasl'> {
  const sasl =
    security.user !== null
      ? { mechanism: 'plain' as const, username: security.user, password: security.password ?? '' }
      : undefined;
  if (!security.ssl && sasl === undefined && security.caFile === null) return {};
  let ca: string | undefined;
  if (security.caFile !== null) {
    try {
      ca = readFileSync(security.caFile, 'utf8');
    } catch (error) {
      throw new SinkError(
        'INVALID_SINK_CONFIG',
        `cannot read the Kafka CA file: ${(error as Error).message}`,
        { sink: 'kafka', target: security.caFile },
        { cause: error },
      );
    }
  }
  return {
    ssl: { ...(ca !== undefined ? { ca } : {}), rejectUnauthorized: !security.skipCertificateVerification },
    ...(sasl ? { sasl } : {}),
  };
}
