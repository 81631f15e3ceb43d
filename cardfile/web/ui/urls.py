"""Routes of the HTML UI; each screen family keeps its own ``urlpatterns``."""

from django.urls import include, path

from .views import accounts, cards, config, home, lists, search

app_name = "ui"

urlpatterns = [
    path("", include(home.urlpatterns)),
    path("", include(accounts.urlpatterns)),
    path("search/", include(search.urlpatterns)),
    path("config/", include(config.urlpatterns)),
    # record screens: lists (and kanban) first, then cards under the same /r/<entity>/ prefix
    path("r/", include(lists.urlpatterns)),
    path("r/", include(cards.urlpatterns)),
]
