"""Voice API, mounted at /api/v1/voice/ by config.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from config.views import ApiIndexView
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

urlpatterns = [
    path(
        "",
        ApiIndexView.as_view(
            name="Voice agent back office",
            links=tuple(
                (name, f"voice-api:{basename}-list")
                for name, basename in (
                    ("organizations", "organization"),
                    ("locations", "location"),
                    ("services", "service"),
                    ("providers", "provider"),
                    ("appointments", "appointment"),
                    ("configs", "config"),
                    ("calls", "call"),
                    ("knowledge", "knowledge"),
                )
            ),
        ),
        name="index",
    ),
    *router.urls,
]
