"""The scoring settings as engine objects, read when asked (never at import time)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from scoring.engine import CallingWindow, CallPolicy, ScoreWeights


def scoring_settings() -> dict:
    return getattr(settings, "SCORING", {})


def score_weights() -> ScoreWeights:
    values = dict(scoring_settings().get("WEIGHTS", {}))
    values.setdefault("attempts_full_at", scoring_settings().get("MAX_ATTEMPTS", 6))
    return ScoreWeights.from_mapping(values)


def call_policy() -> CallPolicy:
    conf = scoring_settings()
    return CallPolicy(
        window=CallingWindow.parse(
            conf.get("CALLING_WINDOW_START", "09:00"), conf.get("CALLING_WINDOW_END", "21:00")
        ),
        max_attempts=int(conf.get("MAX_ATTEMPTS", 6)),
        min_recall_gap=dt.timedelta(minutes=int(conf.get("MIN_RECALL_GAP_MINUTES", 240))),
        handover_delay=dt.timedelta(minutes=int(conf.get("CALLBACK_HANDOVER_MINUTES", 30))),
    )


def reset_interval() -> dt.timedelta:
    return dt.timedelta(days=int(scoring_settings().get("RESET_INTERVAL_DAYS", 30)))


def batch_size() -> int:
    return int(scoring_settings().get("BATCH_SIZE", 2000))
