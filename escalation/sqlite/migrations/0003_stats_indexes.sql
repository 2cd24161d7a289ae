-- Indexes for /metrics: each scrape counts incidents, alerts and pages by
-- group. Covering indexes let SQLite count from the index alone instead
-- of reading every row (a 100,000-incident database: see BenchmarkStats).
CREATE INDEX incidents_service_status ON incidents (service, status);
CREATE INDEX alerts_intake_service ON alerts (intake, service);
CREATE INDEX incidents_acked ON incidents (drill, acknowledged_at, created_at) WHERE acknowledged_at IS NOT NULL;
