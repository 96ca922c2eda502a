"""Moving the whole Switchboard database from one engine to another (SQLite to PostgreSQL), verified and
resumable: manage.py move_database (and bench_move for its timing). Owns no models.

- tables: every table of every installed app, in foreign-key dependency order (generic: the app
  registry, so tables other apps add are moved without changes here);
- values: how a value read on one side is compared with the other (the content checksums);
- state: the move's record in the target (which tables are done), so a rerun resumes;
- move: the service the command calls;
- sample: a populated source database across the apps, for tests and the benchmark.
"""
