from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.views import ApiRootView
from routing.dashboard import floor_fragment

api_v1 = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("", include("agents.api.urls")),
    path("routing/", include("routing.api.urls")),
    path("voice/", include("voice.api.urls")),
    path("automation/", include("agents.api.automation.urls")),
    path("scoring/", include("scoring.api.urls")),
]

urlpatterns = [
    path("admin/floor/", floor_fragment, name="admin-floor"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api-auth/", include("rest_framework.urls")),
]

# Under /api/ every error answers the API's JSON shape, also those Django answers itself (config.api).
handler400 = "config.api.api_bad_request"
handler403 = "config.api.api_permission_denied"
handler404 = "config.api.api_page_not_found"
handler500 = "config.api.api_server_error"

admin.site.site_header = "Switchboard"
admin.site.site_title = "Switchboard"
admin.site.index_title = "Back office"
