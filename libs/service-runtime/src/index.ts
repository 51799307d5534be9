// The public surface: what other projects use, and nothing else (internals stay inside the package).
export type { Logger } from './logger.js';
export { baseServiceEnv, ConfigError, env, type Env, loadConfig, withFileSecrets } from './config.js';
export { IniError, parseIni, parseIniBoolean } from './ini.js';
export { createLogger, redactedPaths } from './logger.js';
export { PARSEDMARC_ENV, PARSEDMARC_INI_KEYS, type ParsedmarcIniKeyType } from './parsedmarc-ini-keys.js';
export {
  applyEnvOverrides,
  applyIniDocument,
  ParsedmarcSettings,
  settingError,
  SettingsReader,
} from './parsedmarc-settings.js';
export { backoffDelay, type BackoffOptions, retryWithBackoff, sleep } from './retry.js';
export { ServiceRuntime } from './runtime.js';
