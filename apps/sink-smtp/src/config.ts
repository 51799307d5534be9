import { z } from 'zod';
import { ConfigError, env } from '@parsedmarc-ts/service-runtime';
import { kafkaSinkServiceEnv } from '@parsedmarc-ts/kafka';
import { reportTopicsOfSave, refineSaveSelection, sinkSaveEnv } from '@parsedmarc-ts/sinks/service';
import { emailSinkConfigSchema, emailSinkDefaults, type EmailSinkConfig } from '@parsedmarc-ts/sinks';

export const serviceName = 'sink-smtp';

/** The variables that may come from files (`<NAME>_FILE`) and never appear in a log line. */
export const sinkSmtpSecrets = ['SMTP_PASSWORD'] as const;

const variables = z.object({
  ...kafkaSinkServiceEnv,
  SMTP_HOST: z.string().min(1, { message: 'not set' }),
  /** Default 465 with SMTP_SSL, else 25. */
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Implicit TLS; otherwise STARTTLS when the server offers it. */
  SMTP_SSL: env.boolean(false),
  SMTP_USER: z.string().min(1).optional(),
  SMTP_PASSWORD: z.string().optional(),
  SMTP_SKIP_CERTIFICATE_VERIFICATION: env.boolean(false),
  SMTP_CA_FILE: z.string().min(1).optional(),
  SMTP_FROM: z.string().min(1, { message: 'not set' }),
  /** Comma-separated recipients. */
  SMTP_TO: env.list(),
  /** Default "DMARC results for YYYY-MM-DD" (the window's first day). */
  SMTP_SUBJECT: z.string().min(1).optional(),
  SMTP_ATTACHMENT: z.string().min(1).optional(),
  SMTP_MESSAGE: z.string().optional(),
  SMTP_DIGEST: env.boolean(true),
  SMTP_TIMEOUT_SECONDS: z.coerce.number().positive().default(emailSinkDefaults.timeoutSeconds),
  /** How long one send is retried (server away, 4xx) before the service backs off and tries again later. */
  SMTP_RETRY_BUDGET_SECONDS: z.coerce.number().min(0).default(60),
  /** The window of one digest, in hours (24: one mail per UTC day). */
  DIGEST_WINDOW_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 31)
    .default(24),
  /** How long after a window's end its mail waits for late reports (reports arrive after their day). */
  DIGEST_GRACE_SECONDS: z.coerce.number().min(0).default(600),
  /** The compacted topic remembering which windows were mailed (default <TOPIC_PREFIX>dmarc_digest_state). */
  DIGEST_STATE_TOPIC: z.string().min(1).optional(),
  ...sinkSaveEnv,
});
export type SinkSmtpConfig = z.infer<typeof variables>;

export const reportTopicsOf = reportTopicsOfSave;

const variableOf: Record<string, string> = {
  host: 'SMTP_HOST',
  port: 'SMTP_PORT',
  user: 'SMTP_USER',
  password: 'SMTP_PASSWORD',
  caFile: 'SMTP_CA_FILE',
  from: 'SMTP_FROM',
  to: 'SMTP_TO',
  subject: 'SMTP_SUBJECT',
  attachment: 'SMTP_ATTACHMENT',
  timeoutSeconds: 'SMTP_TIMEOUT_SECONDS',
  retryBudgetSeconds: 'SMTP_RETRY_BUDGET_SECONDS',
};

function emailSettingsOf(config: SinkSmtpConfig) {
  return emailSinkConfigSchema.safeParse({
    ...emailSinkDefaults,
    host: config.SMTP_HOST,
    port: config.SMTP_PORT ?? null,
    ssl: config.SMTP_SSL,
    user: config.SMTP_USER ?? null,
    password: config.SMTP_PASSWORD ?? null,
    skipCertificateVerification: config.SMTP_SKIP_CERTIFICATE_VERIFICATION,
    caFile: config.SMTP_CA_FILE ?? null,
    from: config.SMTP_FROM,
    to: config.SMTP_TO,
    subject: config.SMTP_SUBJECT ?? null,
    attachment: config.SMTP_ATTACHMENT ?? null,
    message: config.SMTP_MESSAGE ?? null,
    digest: config.SMTP_DIGEST,
    timeoutSeconds: config.SMTP_TIMEOUT_SECONDS,
    retryBudgetSeconds: config.SMTP_RETRY_BUDGET_SECONDS,
  });
}

/** Every variable sink-smtp reads (docs/pipeline.md), checked at start against the email sink's schema. */
export const sinkSmtpEnv = variables.superRefine((config, ctx) => {
  refineSaveSelection(config, ctx);
  const settings = emailSettingsOf(config);
  if (settings.success) return;
  for (const issue of settings.error.issues) {
    const key = String(issue.path[0] ?? 'host');
    ctx.addIssue({
      code: 'custom',
      path: [variableOf[key] ?? `SMTP_${key.toUpperCase()}`],
      message: issue.message,
    });
  }
});

export function emailConfigOf(config: SinkSmtpConfig): EmailSinkConfig {
  const settings = emailSettingsOf(config);
  if (!settings.success) throw new ConfigError(`invalid SMTP settings: ${settings.error.message}`);
  return settings.data;
}
