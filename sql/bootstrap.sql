-- bootstrap.sql - roles and schema ownership for cpa-suite.
--
-- Run once per cluster by a superuser, connected to the application
-- database, before the first migration:
--
--   psql -v ON_ERROR_STOP=1 -d cpa -f sql/bootstrap.sql
--
-- Running it again is harmless: it creates only what is missing and resets
-- the role attributes and grants below to what they should be.
--
-- The three roles:
--   cpa_owner  owns the schema and every table; cpa-migrate connects as it.
--              Row-level security is FORCEd, so it binds the owner too.
--   cpa_app    what the workers connect as.  Not an owner, not a superuser,
--              cannot bypass row-level security: PostgreSQL itself keeps
--              one site's rows from another site's staff.
--   cpa_auth   cannot log in.  It owns the SECURITY DEFINER sign-in
--              functions, which must read a staff member's credentials
--              before any site context exists; BYPASSRLS lets those few,
--              narrowly written functions see past row-level security.
--
-- Passwords (production).  Development and test clusters use trust
-- authentication on a private unix socket and need none.  Elsewhere pass
-- them as psql variables:
--
--   psql -v ON_ERROR_STOP=1 -d cpa \
--        -v cpa_owner_password="$OWNER_PW" -v cpa_app_password="$APP_PW" \
--        -f sql/bootstrap.sql
--
-- A variable not given leaves that role's password as it is.  The value is
-- sent to the server as the text of an ALTER ROLE statement, so keep
-- log_statement off while running this, or pass a SCRAM-SHA-256 verifier
-- ("SCRAM-SHA-256$4096:...") instead of the clear password: PostgreSQL
-- stores a verifier as given.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cpa_owner') THEN
		CREATE ROLE cpa_owner LOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cpa_app') THEN
		CREATE ROLE cpa_app LOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cpa_auth') THEN
		CREATE ROLE cpa_auth NOLOGIN;
	END IF;
END
$$;

-- Attributes are restated every run, so a role someone altered by hand is
-- put back.
ALTER ROLE cpa_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
ALTER ROLE cpa_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
ALTER ROLE cpa_auth NOLOGIN BYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;

-- The migration role hands ownership of the sign-in functions to cpa_auth,
-- which PostgreSQL allows only to members of the new owner.
GRANT cpa_auth TO cpa_owner;

\if :{?cpa_owner_password}
ALTER ROLE cpa_owner PASSWORD :'cpa_owner_password';
\endif
\if :{?cpa_app_password}
ALTER ROLE cpa_app PASSWORD :'cpa_app_password';
\endif

-- Only the two login roles may connect to this database.
DO $$
BEGIN
	EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
	EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO cpa_owner', current_database());
	EXECUTE format('GRANT CONNECT ON DATABASE %I TO cpa_app', current_database());
END
$$;

-- The trust's clock: every session of this database works in UK local time
-- (GMT, or BST in summer), so current_date is the date in England, a date
-- becomes a timestamp at its UK midnight and "+ interval '1 day'" keeps the
-- clock time across the change to and from summer time.  Dates shown,
-- review due dates and "overdue since" all follow from this.  Applies to
-- sessions that start after it.
DO $$
BEGIN
	EXECUTE format('ALTER DATABASE %I SET timezone = %L', current_database(),
		'Europe/London');
END
$$;

-- Objects are created by cpa_owner alone; the application may look up names
-- in the schema but never create anything there.
-- Trigram matching for "similar name" look-ups (duplicate people at
-- intake, search).  A contrib extension shipped with PostgreSQL.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

ALTER SCHEMA public OWNER TO cpa_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO cpa_app;
GRANT USAGE ON SCHEMA public TO cpa_auth;
