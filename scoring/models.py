"""Outbound calling (call scores, call queues and callbacks, call sessions, conversions).

Empty until its issue is taken; the app exists so the project's shape is settled.
"""
