/** pino JSON logs on stdout, one line per event, with secrets redacted wherever they appear. */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const redactedPaths = [
  'password',
  '*.password',
  'sasl.password',
  '*.sasl.password',
  'token',
  '*.token',
];

export function createLogger(
  service: string,
  level: LevelWithSilent = 'info',
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service, pid: process.pid },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
