export {
  ConfigError,
  custom,
  integer,
  loadConfig,
  oneOf,
  port,
  string,
  url,
  type Env,
  type Field,
} from './load-config.js';
export { assertSettingsAgree, mustBeAtLeast, mustExceed, type Duration } from './agreements.js';
export { tlsFileFields, tlsFilesFrom, type TlsFieldKeys, type TlsFilePaths } from './tls-files.js';
