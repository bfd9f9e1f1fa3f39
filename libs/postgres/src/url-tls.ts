/**
 * Whether a connection to this URL is TLS: node-postgres starts TLS for every sslmode but
 * `disable` (and `prefer`, `require` and `verify-ca` verify as `verify-full` does), and for
 * `ssl=true`. The socket declarations use it to say which database links are TLS.
 */
export function databaseUrlUsesTls(databaseUrl: string): boolean {
  const { searchParams } = new URL(databaseUrl);
  const sslmode = searchParams.get('sslmode');
  if (sslmode !== null) return sslmode !== 'disable';
  const ssl = searchParams.get('ssl');
  return ssl === 'true' || ssl === '1';
}
