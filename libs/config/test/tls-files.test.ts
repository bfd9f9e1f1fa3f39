import { describe, expect, it } from 'vitest';
import { loadConfig, tlsFileFields, tlsFilesFrom } from '../src/index.js';

describe('tlsFilesFrom', () => {
  it('gives the three files when all are set', () => {
    const values = loadConfig(
      {
        GRPC_TLS_CA_FILE: '/tls/ca.pem',
        GRPC_TLS_CERT_FILE: '/tls/cert.pem',
        GRPC_TLS_KEY_FILE: '/tls/key.pem',
      },
      tlsFileFields(),
    );
    expect(tlsFilesFrom(values)).toEqual({
      files: { caFile: '/tls/ca.pem', certFile: '/tls/cert.pem', keyFile: '/tls/key.pem' },
    });
  });

  it('gives none, and no problem, when none is set: plaintext', () => {
    expect(tlsFilesFrom(loadConfig({}, tlsFileFields()))).toEqual({ files: undefined });
  });

  it('names the unset ones when only some are set', () => {
    const values = loadConfig({ GRPC_TLS_CA_FILE: '/tls/ca.pem' }, tlsFileFields());
    expect(tlsFilesFrom(values).problem).toBe(
      'GRPC_TLS_CA_FILE, GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE must be set together or not at all (unset: GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE)',
    );
  });

  it('keeps two sets apart in one spec, each named by its own prefix', () => {
    const values = loadConfig(
      {
        GRPC_TLS_CA_FILE: '/grpc/ca.pem',
        GRPC_TLS_CERT_FILE: '/grpc/cert.pem',
        GRPC_TLS_KEY_FILE: '/grpc/key.pem',
        NATS_TLS_KEY_FILE: '/nats/key.pem',
      },
      { ...tlsFileFields(), ...tlsFileFields('NATS_TLS', 'natsTls') },
    );
    expect(tlsFilesFrom(values).files?.caFile).toBe('/grpc/ca.pem');
    expect(tlsFilesFrom(values, 'NATS_TLS', 'natsTls').problem).toBe(
      'NATS_TLS_CA_FILE, NATS_TLS_CERT_FILE, NATS_TLS_KEY_FILE must be set together or not at all (unset: NATS_TLS_CA_FILE, NATS_TLS_CERT_FILE)',
    );
  });
});
