"""Every write of the scoring app (see the modules for their invariants and lock order)."""

from scoring.services.callbacks import callback_schedule, callbacks_hand_over
from scoring.services.calls import call_session_log
from scoring.services.conversions import conversion_record
from scoring.services.queue import QueueClaim, queue_claim_next
from scoring.services.scores import ScoreOutcome, score_person, scores_rescore_all, scores_reset_due

__all__ = [
    "QueueClaim",
    "ScoreOutcome",
    "call_session_log",
    "callback_schedule",
    "callbacks_hand_over",
    "conversion_record",
    "queue_claim_next",
    "score_person",
    "scores_rescore_all",
    "scores_reset_due",
]
