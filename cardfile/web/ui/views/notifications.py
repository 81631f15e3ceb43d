"""The user's in-app notifications: the bell's count (a fragment the top bar polls), the list,
opening one (marks it read, then goes to its record) and marking all read.

A notification's link is followed only to a path of this site: an address elsewhere is shown,
never redirected to, so a notification cannot send anyone off-site."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cardfile.connectors.selectors import notifications_for
from cardfile.connectors.services import notification_read, notifications_read_all
from cardfile.core.models import Notification
from cardfile.metamodel.schema.dynamic import get_registry

from .common import ui_view

PAGE_SIZE = 25
# htmx stops polling on this answer: the bell of a signed-out page asks no more.
STOP_POLLING = 286


@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The bell with its unread count, for the top bar's poll."""
    if not request.user.is_authenticated:
        return HttpResponse(status=STOP_POLLING)
    return render(request, "ui/notifications/_bell.html")


@require_GET
@ui_view
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(notifications_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    labels = {s.slug: s.entity.label for s in get_registry().entities()}
    for notification in page.object_list:
        notification.entity_label = labels.get(notification.entity, notification.entity)
    return render(request, "ui/notifications/list.html", {"page": page})


def local_path(request: HttpRequest, url: str) -> str | None:
    """``url`` as a path of this site, or None when it leads anywhere else.

    Links made for messages are absolute (``CARDFILE_BASE_URL`` + path, so they work in an
    email); here they lose that prefix, as they do with this request's own host."""
    url = (url or "").strip()
    if not url:
        return None
    base = str(getattr(settings, "CARDFILE_BASE_URL", "")).rstrip("/")
    if base and (url == base or url.startswith(base + "/")):
        url = url[len(base) :] or "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.get_host():
            return None
        url = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    if not url.startswith("/") or url.startswith(("//", "/\\")):
        return None
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return None
    return url


def _record_path(notification: Notification) -> str | None:
    if not notification.entity or notification.record_id is None:
        return None
    try:
        return reverse("ui:record_card", args=[notification.entity, notification.record_id])
    except NoReverseMatch:
        return None


@require_http_methods(["GET", "POST"])
@ui_view
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark the notification read and go where it points: its link if that is a path of this
    site, else its record's card, else back to the list."""
    notification = notification_read(user=request.user, notification_id=notification_id)
    target = local_path(request, notification.url)
    if target is None and notification.url:
        messages.warning(
            request,
            _("This notification links outside Cardfile (%(url)s); it was not followed.")
            % {"url": notification.url},
        )
        return redirect("ui:notifications")
    target = target or _record_path(notification)
    return redirect(target) if target else redirect("ui:notifications")


@require_POST
@ui_view
def notification_read_all(request: HttpRequest) -> HttpResponse:
    marked = notifications_read_all(user=request.user)
    if marked:
        text = ngettext(
            "%(n)d notification marked as read.", "%(n)d notifications marked as read.", marked
        )
        messages.success(request, text % {"n": marked})
    return redirect("ui:notifications")


urlpatterns = [
    path("", notification_list, name="notifications"),
    path("bell/", bell, name="notifications-bell"),
    path("read-all/", notification_read_all, name="notifications-read-all"),
    path("<int:notification_id>/open/", notification_open, name="notification-open"),
]
