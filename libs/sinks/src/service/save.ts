/**
 * The SAVE_* variables every sink service reads (the original's --save-* options): which report types it
 * consumes and writes. One place, so that each sink service means the same by them.
 */
import type { z } from 'zod';
import { env } from '@parsedmarc-ts/service-runtime';
import type { SaveSelection } from '../config.js';
import type { ReportTopic } from '@parsedmarc-ts/avro';

export const sinkSaveEnv = {
  SAVE_AGGREGATE: env.boolean(true),
  SAVE_FORENSIC: env.boolean(true),
  SAVE_SMTP_TLS: env.boolean(true),
};

type SaveVariables = { [K in keyof typeof sinkSaveEnv]: boolean };

export const saveSelectionOf = (config: SaveVariables): SaveSelection => ({
  aggregate: config.SAVE_AGGREGATE,
  forensic: config.SAVE_FORENSIC,
  smtpTls: config.SAVE_SMTP_TLS,
});

/** The report topics to consume: those of the saved report types. */
export function reportTopicsOfSave(config: SaveVariables): ReportTopic[] {
  const save = saveSelectionOf(config);
  return (['aggregate', 'forensic', 'smtpTls'] as const).filter((topic) => save[topic]);
}

/** A start-up check: a sink service that saves nothing is a configuration mistake. */
export function refineSaveSelection(config: SaveVariables, ctx: z.RefinementCtx): void {
  if (!config.SAVE_AGGREGATE && !config.SAVE_FORENSIC && !config.SAVE_SMTP_TLS) {
    ctx.addIssue({
      code: 'custom',
      path: ['SAVE_AGGREGATE'],
      message: 'every SAVE_* is false: nothing to write',
    });
  }
}
