"""Automated (AI) agents' behaviour, beside the models in agents.models.automated and .workflows.

- definitions: the workflow step schema, validated without the database (pure);
- services/: every write (agents and capabilities, tasks, workflows and executions, messages, the sweep);
- selectors: every read that matters (lists joined for the API and admin, the full-text search);
- errors: the domain errors these raise (config.errors shapes them for the API);
- legacy/: the Phase 1 SQLite importer (import_legacy_platform) and a generator of Phase 1 files.

The human agents' own services and selectors (agents.services, agents.selectors) are not involved.
"""
