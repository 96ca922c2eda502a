"""Pure outbound-calling logic: dataclasses in, results out, no ORM and no settings.

- `score`: the explainable call score (PersonState + ScoreWeights -> ScoreResult with one line per factor).
- `windows`: calling windows in the person's own IANA time zone (daylight-saving changes included) and
  the set of zones open at a given minute, which the queue query filters on.
- `policy`: who may be called now (window, attempt limit, re-call gap) and the callback rules (due,
  agent-only until the hand-over delay has passed, then anyone's). The queue selectors derive their SQL
  filters from the same functions (`CallPolicy.cutoffs`), so the rule is stated once.
"""

from scoring.engine.policy import (
    CallbackState,
    CallPolicy,
    Exclusion,
    PolicyCutoffs,
    callback_state,
    exclusions,
)
from scoring.engine.score import (
    FACTOR_NAMES,
    PersonState,
    ScoreFactor,
    ScoreResult,
    ScoreWeights,
    score_compute,
)
from scoring.engine.windows import CallingWindow, is_valid_zone, open_zones, window_is_open

__all__ = [
    "FACTOR_NAMES",
    "CallPolicy",
    "CallbackState",
    "CallingWindow",
    "Exclusion",
    "PersonState",
    "PolicyCutoffs",
    "ScoreFactor",
    "ScoreResult",
    "ScoreWeights",
    "callback_state",
    "exclusions",
    "is_valid_zone",
    "open_zones",
    "score_compute",
    "window_is_open",
]
