"""Voice API, mounted at /api/v1/voice/ by config.urls."""

from rest_framework.routers import SimpleRouter

from voice.api.views import (
    AgentConfigViewSet,
    AppointmentViewSet,
    CallViewSet,
    KnowledgeViewSet,
    LocationViewSet,
    OrganizationViewSet,
    ProviderViewSet,
    ServiceViewSet,
)

app_name = "voice-api"

router = SimpleRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("locations", LocationViewSet, basename="location")
router.register("services", ServiceViewSet, basename="service")
router.register("providers", ProviderViewSet, basename="provider")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("configs", AgentConfigViewSet, basename="config")
router.register("calls", CallViewSet, basename="call")
router.register("knowledge", KnowledgeViewSet, basename="knowledge")

urlpatterns = router.urls
