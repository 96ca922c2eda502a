"""The Phase 1 agent platform's SQLite file: its rows and mapping rules (phase1), the importer that
brings them into the Phase 2 tables and verifies it (importer), and a generator of Phase 1 files with
every edge case, for tests and benchmarks (samples)."""
