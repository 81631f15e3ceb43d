"""Routes of the REST API; each part of it keeps its own ``urlpatterns``."""

from django.urls import include, path

from .accounts import auth_urlpatterns, meta_urlpatterns
from .notifications import delivery_urlpatterns, notification_urlpatterns
from .notifications import meta_urlpatterns as channel_urlpatterns

urlpatterns = [
    path("api/v1/auth/", include(auth_urlpatterns)),
    # roles, users and branches first: their prefixes are not the schema API's
    path("api/v1/meta/", include(meta_urlpatterns)),
    path("api/v1/meta/", include(channel_urlpatterns)),
    path("api/v1/meta/", include("cardfile.web.api.installation")),
    path("api/v1/meta/", include("cardfile.web.api.notify")),
    path("api/v1/meta/", include("cardfile.web.api.meta")),
    path("api/v1/records/", include("cardfile.web.api.records")),
    path("api/v1/jobs/", include("cardfile.web.api.jobs")),
    path("api/v1/notifications/", include(notification_urlpatterns)),
    path("api/v1/deliveries/", include(delivery_urlpatterns)),
    path("api/", include("cardfile.web.api.openapi")),
]
