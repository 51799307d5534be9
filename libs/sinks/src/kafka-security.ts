/** The TLS and SASL options of a Kafka client from the [kafka] settings (a CA file is read here). */
import type { KafkaConnection } from '@parsedmarc-ts/kafka';
import type { KafkaSecurity } from './config.js';
import { readPemFile } from './pem.js';

export function kafkaConnectionSecurity(security: KafkaSecurity): Pick<KafkaConnection, 'ssl' | 'sasl'> {
  const sasl =
    security.user !== null
      ? { mechanism: 'plain' as const, username: security.user, password: security.password ?? '' }
      : undefined;
  if (!security.ssl && sasl === undefined && security.caFile === null) return {};
  const ca = security.caFile !== null ? readPemFile('kafka', security.caFile, 'Kafka CA file') : undefined;
  return {
    ssl: { ...(ca !== undefined ? { ca } : {}), rejectUnauthorized: !security.skipCertificateVerification },
    ...(sasl ? { sasl } : {}),
  };
}
