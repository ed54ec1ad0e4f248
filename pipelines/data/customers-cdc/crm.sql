-- The CRM's customers table, the source of pipelines/customers-cdc.yaml: 500 generated customers with a
-- primary key (CDC finds each change's row by it). Deterministic, so two seeds are the same data.
-- Seed a source on a PostgreSQL with wal_level=logical:  createdb crm && psql crm -f pipelines/data/customers-cdc/crm.sql
CREATE TABLE customers (
  customer_id bigint PRIMARY KEY,
  email text NOT NULL,
  tier text NOT NULL,
  country varchar(2),
  updated_at timestamptz NOT NULL
);

INSERT INTO customers (customer_id, email, tier, country, updated_at)
SELECT i,
       format('customer%s@example.com', i),
       (ARRAY['bronze', 'silver', 'gold'])[1 + i % 3],
       (ARRAY['DE', 'FR', 'NL', 'US', 'GB', 'ES'])[1 + i % 6],
       timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => i * 37)
  FROM generate_series(1, 500) AS i;
