"""Pure routing logic: dataclasses in, results out, no ORM and no settings.

- `types`: the facts the services gather (CaseProfile, AgentProfile, Weights) and what comes back
  (FactorScores, ScoredCandidate, Ranking).
- `rules`: the seed rules in one place: what a "difficult" case is, the widening rings, the hard
  exclusions (critical frustration never to low tolerance, fatigue lockout, capacity, schedule,
  language, skills).
- `factors`: one function per score factor, each 0..1 and explained.
- `strategies`: one small class per strategy behind one interface, found through a registry.
- `scoring`: puts them together and ranks candidates best first.
"""
