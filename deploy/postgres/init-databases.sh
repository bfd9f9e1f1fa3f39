# One Postgres server, one database and one role per service, each role with least privilege:
# it owns its own database and can reach no other, and it can create no role and no database.
# As if each service had its own server.
#
# Sourced (not executed) by the postgres image's entrypoint when the data volume is first
# created, so no `set` here: it would change the entrypoint's own options. The passwords are
# files that the dev-certs service made (tools/dev-certs); none is in the repository.
for role in inventory purchase; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="$role" -v password="$(cat "/passwords/$role")" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE :"role" OWNER :"role";
-- By default every role may connect to every database: only the owner may, now.
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
REVOKE ALL ON DATABASE template1 FROM PUBLIC;
SQL
# Over the network, TLS only: the image's catch-all `host` rule becomes `hostssl`, so a client
# that does not start TLS finds no rule and is refused. Connections from inside the container
# (the Unix socket, loopback) keep their own rules.
sed -i 's/^host all all all /hostssl all all all /' "$PGDATA/pg_hba.conf"
