"""Routes of the HTML UI; each screen family keeps its own ``urlpatterns``."""

from django.urls import include, path

from .views import accounts, cards, config, home, lists, notifications, search, setup
from .views.config.deliveries import record_urlpatterns as record_delivery_urlpatterns

app_name = "ui"

urlpatterns = [
    path("", include(home.urlpatterns)),
    path("", include(accounts.urlpatterns)),
    path("setup/", include(setup.urlpatterns)),
    path("search/", include(search.urlpatterns)),
    path("notifications/", include(notifications.urlpatterns)),
    path("config/", include(config.urlpatterns)),
    # record screens: lists (and kanban) first, then cards under the same /r/<entity>/ prefix
    path("r/", include(lists.urlpatterns)),
    path("r/", include(cards.urlpatterns)),
    path("r/", include(record_delivery_urlpatterns)),
]
