-- The shop's customers table, the source of pipelines/customers-pg.yaml: 3,000 generated customers with
-- a primary key and an updated_at cursor. Deterministic (no random()), so two seeds are the same data.
-- Seed a local source:  createdb shop && psql shop -f pipelines/data/customers/shop.sql
CREATE SCHEMA IF NOT EXISTS shop;

CREATE TABLE shop.customers (
  customer_id bigint PRIMARY KEY,
  email text NOT NULL UNIQUE,
  full_name text,
  country varchar(2),
  signed_up_on date NOT NULL,
  lifetime_value numeric(12, 2) NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL
);

CREATE INDEX customers_updated_at ON shop.customers (updated_at);

INSERT INTO shop.customers (customer_id, email, full_name, country, signed_up_on, lifetime_value, updated_at)
SELECT i,
       format('customer%s@example.com', i),
       CASE WHEN i % 97 = 0 THEN NULL ELSE format('Customer %s', i) END,
       (ARRAY['DE', 'FR', 'NL', 'US', 'GB', 'ES'])[1 + i % 6],
       date '2022-01-01' + (i * 7919 % 1460),
       round((i * 104729 % 500000) / 100.0, 2),
       timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => i * 37)
  FROM generate_series(1, 3000) AS i;
