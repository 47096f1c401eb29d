-- The peer stand-in's tables (bench/peer/app.py), in a tenant schema as OpenQMS keeps them.
CREATE SCHEMA IF NOT EXISTS tenant_volta;
CREATE TABLE tenant_volta.users (user_id uuid PRIMARY KEY, username varchar(100) UNIQUE NOT NULL, role varchar(20) NOT NULL, is_active boolean NOT NULL);
CREATE TABLE tenant_volta.user_factories (id serial PRIMARY KEY, user_id uuid NOT NULL REFERENCES tenant_volta.users, factory_id uuid NOT NULL);
CREATE INDEX ON tenant_volta.user_factories (user_id);
CREATE TABLE tenant_volta.module_permissions (id serial PRIMARY KEY, role varchar(20) NOT NULL, module varchar(30) NOT NULL, level integer NOT NULL);
CREATE INDEX ON tenant_volta.module_permissions (role);
CREATE TABLE tenant_volta.user_product_lines (id serial PRIMARY KEY, user_id uuid NOT NULL REFERENCES tenant_volta.users, product_line_code varchar(20) NOT NULL);
CREATE INDEX ON tenant_volta.user_product_lines (user_id);
CREATE TABLE tenant_volta.capa_eightd (
  report_id uuid PRIMARY KEY, document_no varchar(50) UNIQUE NOT NULL, title varchar(200) NOT NULL, product_line_code varchar(20) NOT NULL,
  factory_id uuid NOT NULL, status varchar(20) NOT NULL, severity varchar(20) NOT NULL, d1_team jsonb NOT NULL,
  d2_description text, d3_interim text, d4_root_cause text, d5_correction text, d6_verification text, d7_prevention text, d8_closure text,
  due_date date, created_by uuid, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
