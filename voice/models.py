"""The voice channel (organizations, locations, appointments, agent configs, calls, knowledge base).

Empty until its issue is taken; the app exists so the project's shape is settled.
"""
