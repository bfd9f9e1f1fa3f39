-- One Postgres server, one database and one user per service: a service can reach only its
-- own data, as if each had its own server. Runs once, when the data volume is first created.
CREATE USER inventory WITH PASSWORD 'inventory';
CREATE DATABASE inventory OWNER inventory;
CREATE USER purchase WITH PASSWORD 'purchase';
CREATE DATABASE purchase OWNER purchase;
