"""The agents app's models: human agents (`human`) and, beside them, automated agents.

Everything is re-exported here so `agents.models.HumanAgent` stays the public name whatever module holds it.
"""

from agents.models.human import *  # noqa: F403
from agents.models.human import __all__ as _human_all

__all__ = [*_human_all]
