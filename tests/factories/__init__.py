from tests.factories.agents import (  # noqa: F401
    AgentAvailabilityFactory,
    AgentLanguageFactory,
    AgentPerformanceFactory,
    AgentPeriodMetricsFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)
