"""The voice channel: organizations, locations, appointments, agent configs, calls, knowledge base.

Start at voice.access (tenant isolation and roles), voice.models, voice.selectors (reads, scoped to
the caller), voice.services (writes) and voice.engine (pure logic).
"""
