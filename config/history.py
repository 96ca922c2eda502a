"""The project's django-simple-history field: `HistoricalRecords` with its manager class built once.

simple_history's descriptor (`Model.history`) builds a new manager class with
`HistoryManager.from_queryset(...)` (a `type()` call and an `inspect.getmembers` of the queryset) on
every access, and writing a historical record reads it once: about 0.3 ms of every save of a
historised model, a tenth of an availability update. The class built is the same each time, so the
descriptor here builds it once and hands out an instance per access as before.
"""

from __future__ import annotations

from typing import Any

from simple_history import models as history_models
from simple_history.manager import HistoryDescriptor


class _OneManagerClassDescriptor(HistoryDescriptor):
    def __init__(self, model: Any, manager: Any, queryset: Any) -> None:
        super().__init__(model, manager=manager, queryset=queryset)
        self.manager_type = manager.from_queryset(queryset)

    def __get__(self, instance: Any, owner: Any) -> Any:
        return self.manager_type(self.model, instance)


class HistoricalRecords(history_models.HistoricalRecords):
    def finalize(self, sender: Any, **kwargs: Any) -> None:
        super().finalize(sender, **kwargs)
        # finalize runs for every model prepared after this field's; it registered only its own
        descriptor = sender.__dict__.get(self.manager_name)
        if type(descriptor) is HistoryDescriptor:
            setattr(
                sender,
                self.manager_name,
                _OneManagerClassDescriptor(
                    descriptor.model, manager=descriptor.manager_class, queryset=descriptor.queryset_class
                ),
            )
