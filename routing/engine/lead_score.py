"""The lead score: an explainable 0-100 number from a lead's attributes, its tier and its queue. Pure.

score = 100 x the weighted mean of five components, each 0..1 (weights: settings.LEADS["SCORE_WEIGHTS"]):

- segment: what the customer segment is worth (SEGMENT_VALUES; an unknown segment 0.5);
- line: what the insurance line is worth (LINE_VALUES; unknown 0.5);
- source: how strong the lead's source is (SOURCE_VALUES: an inbound call 1.0 ... a purchased list 0.2);
- recency: 0.5 ** (minutes since created / half-life): a fresh lead 1.0, one half-life old 0.5;
- engagement: 0.35 if a quote was requested + 0.35 if a callback was requested + 0.15 x min(website
  visits / 10, 1) + 0.15 x min(email opens / 10, 1).

Tier: hot at or above TIER_HOT (70), warm at or above TIER_WARM (40), cold below; the tier gives the
queue type (hot -> hot, warm -> active, cold -> nurture) and with it the SLA. The breakdown (each
component's value, weight and points) is stored on the lead and returned by the API, so a score is
always explained.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

SEGMENT_VALUES: dict[str, float] = {"enterprise": 1.0, "commercial": 0.9, "smb": 0.7, "individual": 0.5}
LINE_VALUES: dict[str, float] = {
    "commercial": 1.0,
    "life": 0.9,
    "auto": 0.7,
    "home": 0.7,
    "health": 0.6,
    "travel": 0.3,
}
SOURCE_VALUES: dict[str, float] = {
    "inbound_call": 1.0,
    "referral": 0.9,
    "web_form": 0.7,
    "partner": 0.6,
    "event": 0.5,
    "paid_ad": 0.5,
    "other": 0.3,
    "purchased_list": 0.2,
}
UNKNOWN_VALUE = 0.5
DEFAULT_WEIGHTS: dict[str, float] = {
    "segment": 0.15,
    "line": 0.10,
    "source": 0.20,
    "recency": 0.25,
    "engagement": 0.30,
}
TIER_QUEUE: dict[str, str] = {"hot": "hot", "warm": "active", "cold": "nurture"}


@dataclass(frozen=True)
class LeadFacts:
    customer_segment: str
    insurance_line: str
    source: str
    created_at: dt.datetime
    website_visits: int = 0
    email_opens: int = 0
    quote_requested: bool = False
    callback_requested: bool = False


@dataclass(frozen=True)
class ScoreSettings:
    weights: Mapping[str, float]
    tier_hot: float = 70.0
    tier_warm: float = 40.0
    recency_half_life_minutes: float = 60.0


@dataclass(frozen=True)
class LeadScore:
    score: float  # 0..100, two decimals
    tier: str
    queue_type: str
    breakdown: dict[str, dict[str, float]]


def components(facts: LeadFacts, *, now: dt.datetime, half_life_minutes: float) -> dict[str, float]:
    age_minutes = max((now - facts.created_at).total_seconds() / 60, 0.0)
    recency = 0.5 ** (age_minutes / half_life_minutes) if half_life_minutes > 0 else 1.0
    engagement = (
        0.35 * facts.quote_requested
        + 0.35 * facts.callback_requested
        + 0.15 * min(facts.website_visits / 10, 1.0)
        + 0.15 * min(facts.email_opens / 10, 1.0)
    )
    return {
        "segment": SEGMENT_VALUES.get(facts.customer_segment, UNKNOWN_VALUE),
        "line": LINE_VALUES.get(facts.insurance_line, UNKNOWN_VALUE),
        "source": SOURCE_VALUES.get(facts.source, UNKNOWN_VALUE),
        "recency": recency,
        "engagement": engagement,
    }


def tier_for(score: float, *, hot: float, warm: float) -> str:
    if score >= hot:
        return "hot"
    return "warm" if score >= warm else "cold"


def score_lead(facts: LeadFacts, *, settings: ScoreSettings, now: dt.datetime) -> LeadScore:
    """The lead's score, tier, queue type and breakdown (see the module docstring)."""
    values = components(facts, now=now, half_life_minutes=settings.recency_half_life_minutes)
    weights = {name: max(float(settings.weights.get(name, 0.0)), 0.0) for name in values}
    total_weight = sum(weights.values())
    breakdown: dict[str, dict[str, float]] = {}
    points_total = 0.0
    for name, value in values.items():
        share = weights[name] / total_weight if total_weight else 0.0
        points = 100 * share * value
        points_total += points
        breakdown[name] = {
            "value": round(value, 4),
            "weight": round(weights[name], 4),
            "points": round(points, 2),
        }
    score = round(min(max(points_total, 0.0), 100.0), 2)
    tier = tier_for(score, hot=settings.tier_hot, warm=settings.tier_warm)
    return LeadScore(score=score, tier=tier, queue_type=TIER_QUEUE[tier], breakdown=breakdown)
