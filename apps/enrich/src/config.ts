import { z } from 'zod';
import { env } from '@parsedmarc-ts/service-runtime';
import { kafkaServiceEnv } from '@parsedmarc-ts/kafka';

/** Every variable enrich reads (see docs/pipeline.md). */
export const enrichEnv = z.object({
  ...kafkaServiceEnv,
  /** No DNS queries (reverse DNS and base domain stay null; the country still comes from the IP database). */
  ENRICH_OFFLINE: env.boolean(false),
  /** Comma-separated resolvers, "ip" or "ip:port"; default Cloudflare's. */
  DNS_NAMESERVERS: env.list().optional(),
  DNS_TIMEOUT_MS: env.positiveInt(2000),
  DNS_RETRIES: env.nonNegativeInt(1),
  DNS_CONCURRENCY: env.positiveInt(32),
  /** The user's own MMDB (MaxMind, DB-IP, IPinfo); default the bundled DB-IP country database. */
  IP_DB_PATH: z.string().optional(),
  /** CSV of base_domain,name,type overriding the shipped sender map. */
  SENDER_MAP_CSV: z.string().optional(),
});
export type EnrichConfig = z.infer<typeof enrichEnv>;
