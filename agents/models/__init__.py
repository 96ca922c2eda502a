"""The agents app's models: human agents (`human`) and, beside them, automated agents (`automated`) and
their tasks and workflows (`workflows`).

Everything is re-exported here so `agents.models.HumanAgent` stays the public name whatever module holds it.
"""

from agents.models.automated import *  # noqa: F403
from agents.models.automated import __all__ as _automated_all
from agents.models.human import *  # noqa: F403
from agents.models.human import __all__ as _human_all
from agents.models.workflows import *  # noqa: F403
from agents.models.workflows import __all__ as _workflows_all

__all__ = [*_human_all, *_automated_all, *_workflows_all]
