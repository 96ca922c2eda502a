from django.urls import path
from rest_framework.routers import SimpleRouter

from agents.api.views import AgentAvailabilityApi, AgentViewSet

router = SimpleRouter()
router.register("agents", AgentViewSet, basename="agent")

urlpatterns = [
    path("agents/<slug:code>/availability/", AgentAvailabilityApi.as_view(), name="agent-availability"),
    *router.urls,
]
