import { string, type Field } from './load-config.js';

/** The three PEM files of one side of mTLS, or undefined when none is set (plaintext). */
export interface TlsFilePaths {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * GRPC_TLS_CA_FILE, GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE (or another prefix): put into a
 * service's spec, then read with `tlsFilesFrom`, which says whether they agree.
 */
export function tlsFileFields(prefix = 'GRPC_TLS'): {
  tlsCaFile: Field<string>;
  tlsCertFile: Field<string>;
  tlsKeyFile: Field<string>;
} {
  return {
    tlsCaFile: string(`${prefix}_CA_FILE`, {
      default: '',
      description: 'PEM file of the CA whose certificates the peer must present (mTLS).',
    }),
    tlsCertFile: string(`${prefix}_CERT_FILE`, {
      default: '',
      description: "PEM file of this service's certificate, shown to the peer.",
    }),
    tlsKeyFile: string(`${prefix}_KEY_FILE`, {
      default: '',
      description: 'PEM file of the private key of that certificate.',
    }),
  };
}

/**
 * The files when all three are set, undefined when none is, and a problem (for
 * assertSettingsAgree) when only some are: half a TLS setting is a mistake, never plaintext.
 */
export function tlsFilesFrom(
  values: { tlsCaFile: string; tlsCertFile: string; tlsKeyFile: string },
  prefix = 'GRPC_TLS',
): { files: TlsFilePaths | undefined; problem?: string } {
  const named = {
    [`${prefix}_CA_FILE`]: values.tlsCaFile,
    [`${prefix}_CERT_FILE`]: values.tlsCertFile,
    [`${prefix}_KEY_FILE`]: values.tlsKeyFile,
  };
  const unset = Object.keys(named).filter((name) => named[name] === '');
  if (unset.length === 3) return { files: undefined };
  if (unset.length > 0)
    return {
      files: undefined,
      problem: `${Object.keys(named).join(', ')} must be set together or not at all (unset: ${unset.join(', ')})`,
    };
  return {
    files: { caFile: values.tlsCaFile, certFile: values.tlsCertFile, keyFile: values.tlsKeyFile },
  };
}
