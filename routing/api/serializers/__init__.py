"""Routing API shapes: `inputs` validate and name the bad field, `outputs` only render, `fields` holds what
both share. Re-exported here: `routing.api.serializers.CaseInputSerializer` is the public name."""

from routing.api.serializers.fields import (
    CaseLanguageField,
    ComplexityField,
    FlatListField,
    MinProficiencyField,
    SpecialRequirementsSerializer,
    case_id_field,
)
from routing.api.serializers.inputs import (
    AssignmentActionInputSerializer,
    CaseCompleteInputSerializer,
    CaseInputSerializer,
    strategy_choices,
)
from routing.api.serializers.outputs import (
    AgentBriefSerializer,
    ArchivedAssignmentSerializer,
    ArchivedStatusField,
    AssignedOutcomeSerializer,
    CandidatePoolSerializer,
    CandidateSerializer,
    CaseAssignmentSerializer,
    QueuedOutcomeSerializer,
    QueueEntrySerializer,
    RoutingDecisionSerializer,
    RoutingEventSerializer,
    SupportCaseDetailSerializer,
    WaitingEntrySerializer,
    candidate_as_dict,
)

__all__ = [
    "AgentBriefSerializer",
    "ArchivedAssignmentSerializer",
    "ArchivedStatusField",
    "AssignedOutcomeSerializer",
    "AssignmentActionInputSerializer",
    "CandidatePoolSerializer",
    "CandidateSerializer",
    "CaseAssignmentSerializer",
    "CaseCompleteInputSerializer",
    "CaseInputSerializer",
    "CaseLanguageField",
    "ComplexityField",
    "FlatListField",
    "MinProficiencyField",
    "QueueEntrySerializer",
    "QueuedOutcomeSerializer",
    "RoutingDecisionSerializer",
    "RoutingEventSerializer",
    "SpecialRequirementsSerializer",
    "SupportCaseDetailSerializer",
    "WaitingEntrySerializer",
    "candidate_as_dict",
    "case_id_field",
    "strategy_choices",
]
