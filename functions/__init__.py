"""classops functions: one handler per job. Import `shared`, never an SDK."""
