import { string, type Field } from './load-config.js';

/** The three PEM files of one side of mTLS, or undefined when none is set (plaintext). */
export interface TlsFilePaths {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The keys of the three fields in a spec: `tlsCaFile`..., or `natsTlsCaFile`... with key `natsTls`. */
export type TlsFieldKeys<K extends string> = `${K}CaFile` | `${K}CertFile` | `${K}KeyFile`;

/**
 * GRPC_TLS_CA_FILE, GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE (or another prefix, such as
 * NATS_TLS): put into a service's spec, then read with `tlsFilesFrom`, which says whether they
 * agree. `key` names the fields in the spec, so one spec can hold several sets.
 */
export function tlsFileFields<K extends string = 'tls'>(
  prefix = 'GRPC_TLS',
  key: K = 'tls' as K,
): Record<TlsFieldKeys<K>, Field<string>> {
  const fields = {
    CaFile: string(`${prefix}_CA_FILE`, {
      default: '',
      description: 'PEM file of the CA whose certificates the peer must present (mTLS).',
    }),
    CertFile: string(`${prefix}_CERT_FILE`, {
      default: '',
      description: "PEM file of this service's certificate, shown to the peer.",
    }),
    KeyFile: string(`${prefix}_KEY_FILE`, {
      default: '',
      description: 'PEM file of the private key of that certificate.',
    }),
  };
  return Object.fromEntries(
    Object.entries(fields).map(([suffix, field]) => [`${key}${suffix}`, field]),
  ) as Record<TlsFieldKeys<K>, Field<string>>;
}

/**
 * The files when all three are set, undefined when none is, and a problem (for
 * assertSettingsAgree) when only some are: half a TLS setting is a mistake, never plaintext.
 */
export function tlsFilesFrom<K extends string = 'tls'>(
  values: Record<TlsFieldKeys<K>, string>,
  prefix = 'GRPC_TLS',
  key: K = 'tls' as K,
): { files: TlsFilePaths | undefined; problem?: string } {
  const caFile = values[`${key}CaFile`];
  const certFile = values[`${key}CertFile`];
  const keyFile = values[`${key}KeyFile`];
  const named = {
    [`${prefix}_CA_FILE`]: caFile,
    [`${prefix}_CERT_FILE`]: certFile,
    [`${prefix}_KEY_FILE`]: keyFile,
  };
  const unset = Object.keys(named).filter((name) => named[name] === '');
  if (unset.length === 3) return { files: undefined };
  if (unset.length > 0)
    return {
      files: undefined,
      problem: `${Object.keys(named).join(', ')} must be set together or not at all (unset: ${unset.join(', ')})`,
    };
  return {
    files: { caFile, certFile, keyFile },
  };
}
