/**
 * -K with --publish-raw-mail: the input files are published as they are onto raw-mail, for the report-parse
 * service (the parsed reports go to Kafka through the Kafka sink otherwise). Loaded only when asked for.
 */
import { createRawMailPublisher } from '@parsedmarc-ts/kafka';
import { kafkaBrokers, kafkaConnectionSecurity } from '@parsedmarc-ts/sinks';
import type { CliConfig } from './config.js';

type RawMailConfig = NonNullable<CliConfig['rawMail']>;

/** --publish-raw-mail: every input file onto raw-mail; returns the number of files refused. */
export async function publishRawMail(
  config: RawMailConfig,
  files: Iterable<string>,
  warn: (line: string) => void,
): Promise<number> {
  const publisher = await createRawMailPublisher({
    brokers: kafkaBrokers(config.hosts),
    registryUrl: config.registryUrl,
    ...kafkaConnectionSecurity(config.security),
    clientId: 'parsedmarc-cli',
    topic: config.topic,
  });
  let failures = 0;
  try {
    for (const path of files) {
      try {
        await publisher.publishFiles([path]);
      } catch (error) {
        failures += 1;
        warn(
          `${path}: ${(error as { code?: string }).code ?? 'PUBLISH_FAILED'}: ${(error as Error).message}`,
        );
      }
    }
  } finally {
    await publisher.close();
  }
  return failures;
}
