export {
  createCertificateAuthority,
  issueServiceCertificate,
  type CertificateAuthority,
  type CertificateFiles,
  type Validity,
} from './issue-certificates.js';
export { msUntilExpiry, reasonToReissue } from './certificate-check.js';
export { writeAtomically } from './certificate-files.js';
export {
  ensureDevCertificates,
  type DevCertificatesOptions,
  type DevCertificatesReport,
} from './ensure-dev-certificates.js';
export { ensureDevPasswords, type DevPasswordsOptions } from './ensure-dev-passwords.js';
