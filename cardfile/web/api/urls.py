"""Routes of the REST API; each part of it keeps its own ``urlpatterns``."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("api/v1/auth/token/", obtain_auth_token, name="api-token"),
    path("api/v1/meta/", include("cardfile.web.api.meta")),
    path("api/v1/records/", include("cardfile.web.api.records")),
    path("api/v1/jobs/", include("cardfile.web.api.jobs")),
    path("api/", include("cardfile.web.api.openapi")),
]
