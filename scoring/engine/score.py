"""The call score: an explainable number 0..100 that orders an outbound queue (highest first).

The score is a sum of factors, each a weight (points, from settings SCORING_WEIGHT_*) times a value in
0..1 that says how much of the weight the person earns:

- queue_type: the base of the queue the person is in (unsigned users, to get a signature, weigh more than
  outstanding requests, where the signature is in and documents are chased);
- freshness: a new person is worth calling soon: 1 on the day they arrive, falling linearly to 0 after
  `freshness_days`;
- since_last_call: the longer since the last call, the more: 0 just after a call, 1 after
  `since_last_call_days` (and for someone never called);
- attempts: a penalty (negative weight) growing with the attempts of the current cycle, full at
  `attempts_full_at`;
- outstanding_documents: documents still to collect, full at `documents_full_at`;
- signature: the signature is in (the claim is close to complete);
- callback_due: a promised callback is due.

The total is clamped to 0..100 and rounded half up to an integer (the stored `current_score`); every
factor's value, weight and points are returned, so "why this score" is always answerable.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

FACTOR_NAMES = (
    "queue_type",
    "freshness",
    "since_last_call",
    "attempts",
    "outstanding_documents",
    "signature",
    "callback_due",
)
SCORE_MIN, SCORE_MAX = 0, 100


@dataclass(frozen=True)
class ScoreWeights:
    """Points per factor and the scales the factors saturate at (defaults: settings.SCORING)."""

    queue_unsigned_users: float = 40.0
    queue_outstanding_requests: float = 30.0
    freshness: float = 15.0
    since_last_call: float = 15.0
    attempts: float = -20.0
    outstanding_documents: float = 10.0
    signature: float = 10.0
    callback_due: float = 30.0
    freshness_days: float = 30.0
    since_last_call_days: float = 7.0
    attempts_full_at: int = 6
    documents_full_at: int = 5

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> ScoreWeights:
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        return cls(**known)


@dataclass(frozen=True)
class PersonState:
    """What the score looks at, gathered by the service from the person's score row and queue entry."""

    queue_type: str | None
    created_at: dt.datetime
    last_call_at: dt.datetime | None = None
    call_attempts: int = 0
    outstanding_documents: int = 0
    signature_obtained: bool = False
    callback_due: bool = False


@dataclass(frozen=True)
class ScoreFactor:
    name: str
    value: float  # 0..1: how much of the weight the person earns
    weight: float  # points at value 1 (negative for a penalty)
    points: float
    detail: str


@dataclass(frozen=True)
class ScoreResult:
    score: int
    raw: float
    factors: list[ScoreFactor] = field(default_factory=list)

    def breakdown(self) -> dict[str, Any]:
        """JSON-ready: what the score row stores and the API returns."""
        return {
            "score": self.score,
            "raw": round(self.raw, 4),
            "factors": [
                {**asdict(factor), "value": round(factor.value, 4), "points": round(factor.points, 4)}
                for factor in self.factors
            ],
        }


def _clamp01(value: float) -> float:
    return 0.0 if value < 0 else 1.0 if value > 1 else value


def _days(later: dt.datetime, earlier: dt.datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() / 86400)


def round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def score_compute(state: PersonState, weights: ScoreWeights, *, now: dt.datetime) -> ScoreResult:
    """The score of one person at `now`, with one ScoreFactor per name in FACTOR_NAMES."""
    factors: list[ScoreFactor] = []

    def add(name: str, value: float, weight: float, detail: str) -> None:
        value = _clamp01(value)
        factors.append(
            ScoreFactor(name=name, value=value, weight=weight, points=value * weight, detail=detail)
        )

    queue_weights = {
        "unsigned_users": weights.queue_unsigned_users,
        "outstanding_requests": weights.queue_outstanding_requests,
    }
    add(
        "queue_type",
        1.0 if state.queue_type in queue_weights else 0.0,
        queue_weights.get(state.queue_type or "", 0.0),
        f"in queue {state.queue_type}" if state.queue_type else "in no queue",
    )
    age_days = _days(now, state.created_at)
    add(
        "freshness",
        1 - age_days / weights.freshness_days if weights.freshness_days > 0 else 0.0,
        weights.freshness,
        f"{age_days:.1f} days since created",
    )
    if state.last_call_at is None:
        add("since_last_call", 1.0, weights.since_last_call, "never called")
    else:
        gap_days = _days(now, state.last_call_at)
        add(
            "since_last_call",
            gap_days / weights.since_last_call_days if weights.since_last_call_days > 0 else 1.0,
            weights.since_last_call,
            f"{gap_days:.1f} days since the last call",
        )
    add(
        "attempts",
        state.call_attempts / weights.attempts_full_at if weights.attempts_full_at > 0 else 0.0,
        weights.attempts,
        f"{state.call_attempts} attempts this cycle",
    )
    add(
        "outstanding_documents",
        state.outstanding_documents / weights.documents_full_at if weights.documents_full_at > 0 else 0.0,
        weights.outstanding_documents,
        f"{state.outstanding_documents} documents outstanding",
    )
    add(
        "signature",
        1.0 if state.signature_obtained else 0.0,
        weights.signature,
        "signature obtained" if state.signature_obtained else "no signature yet",
    )
    add(
        "callback_due",
        1.0 if state.callback_due else 0.0,
        weights.callback_due,
        "a callback is due" if state.callback_due else "no callback due",
    )
    raw = sum(factor.points for factor in factors)
    score = min(SCORE_MAX, max(SCORE_MIN, round_half_up(raw)))
    return ScoreResult(score=score, raw=raw, factors=factors)
