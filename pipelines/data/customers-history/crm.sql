-- The CRM's customers table, the source of pipelines/customers-history.yaml: 500 generated customers with
-- a primary key and an updated_at cursor. Deterministic, so two seeds are the same data.
-- Seed a local source:  createdb crm && psql crm -f pipelines/data/customers-history/crm.sql
CREATE TABLE customers (
  customer_id bigint PRIMARY KEY,
  email text NOT NULL,
  tier text NOT NULL,
  country varchar(2),
  updated_at timestamptz NOT NULL
);

CREATE INDEX customers_updated_at ON customers (updated_at);

INSERT INTO customers (customer_id, email, tier, country, updated_at)
SELECT i,
       format('customer%s@example.com', i),
       (ARRAY['bronze', 'silver', 'gold'])[1 + i % 3],
       (ARRAY['DE', 'FR', 'NL', 'US', 'GB', 'ES'])[1 + i % 6],
       timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => i * 37)
  FROM generate_series(1, 500) AS i;
