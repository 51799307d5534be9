/**
 * Service configuration: environment variables through one zod schema per service. A bad or missing value
 * fails at start with a message naming the variable. Secrets may come from a file (`NAME_FILE`, as mounted
 * by Kubernetes secrets) instead of the variable itself, so they stay out of `env` listings.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isPdmError, PdmError } from '@parsedmarc-ts/errors';

export type ConfigErrorCode =
  | 'INVALID_CONFIG'
  | 'INI_SYNTAX'
  | 'INI_DUPLICATE_SECTION'
  | 'INI_DUPLICATE_KEY'
  | 'INI_MISSING_SECTION'
  | 'INI_NO_VALUE';

/** A setting (flag, variable, ini line) a user has to fix: exit 2 for the CLI, a failed start for a service. */
export class ConfigError<Code extends ConfigErrorCode = ConfigErrorCode> extends PdmError<
  Code,
  Record<string, unknown>
> {
  readonly family = 'config';
  constructor(message: string, code: Code = 'INVALID_CONFIG' as Code, context: Record<string, unknown> = {}) {
    super(code, message, context);
    this.name = 'ConfigError';
  }

  static is(value: unknown): value is ConfigError {
    return isPdmError(value, 'config');
  }
}

export type Env = Record<string, string | undefined>;

/**
 * For each name, when `<name>_FILE` is set, reads the secret from that file (trailing newline trimmed).
 * Setting both is refused: which one wins would be a guess.
 */
export function withFileSecrets(env: Env, names: readonly string[]): Env {
  const out: Env = { ...env };
  for (const name of names) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      throw new ConfigError(`${name} and ${name}_FILE are both set: set only one`);
    }
    try {
      out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(`${name}_FILE: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  return out;
}

/**
 * Validates the environment against `schema` (an object schema keyed by variable name). Empty strings count
 * as unset, so `FOO=` falls back to the default like an absent variable.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  const present: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') present[key] = value;
  }
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.length > 0 ? issue.path.join('.') : '<environment>';
      const got = issue.path.length > 0 ? present[String(issue.path[0])] : undefined;
      // Never echo a value that might be a secret: only say whether it was set.
      return `${name}: ${issue.message}${got === undefined ? ' (not set)' : ''}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Reusable variable schemas. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  nonNegativeInt: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  /** Comma-separated list, e.g. KAFKA_BROKERS=a:9092,b:9092. */
  list: () =>
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      )
      .pipe(z.array(z.string()).min(1, 'expected a comma-separated list')),
  boolean: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
      .transform((value) => value === 'true' || value === '1' || value === 'yes')
      .default(fallback),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

/** Variables every service reads. */
export const baseServiceEnv = {
  LOG_LEVEL: env.logLevel(),
  /** Port of /healthz, /readyz, /metrics; 0 picks a free one (tests). */
  HTTP_PORT: env.port(8080),
  HTTP_HOST: z.string().default('0.0.0.0'),
  /** How long SIGTERM may take before the process gives up and exits non-zero. */
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(30_000),
};
