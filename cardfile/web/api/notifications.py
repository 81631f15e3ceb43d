"""Messages going out: channel settings under /api/v1/meta/channels/ (owners), the caller's
in-app notifications under /api/v1/notifications/, and the delivery log under
/api/v1/deliveries/ (owners; roles with ``configure``, for the entities they configure)."""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cardfile.connectors.selectors import (
    channel_detail,
    channels_list,
    deliveries_list,
    delivery_get,
    notifications_for,
    unread_count,
)
from cardfile.connectors.services import (
    ChannelSettingsError,
    channel_update,
    notification_read,
    notifications_read_all,
)
from cardfile.core.deliveries import delivery_retry
from cardfile.core.exceptions import PermissionDenied
from cardfile.core.models import Delivery, Notification
from cardfile.metamodel.access import access_for

from .errors import BadRequest
from .pagination import paginate, parse_flag

# -- channels ------------------------------------------------------------------------------------


class ChannelOwnerView(APIView):
    """Signed-in owners only: channel settings hold credentials."""

    permission_classes = [IsAuthenticated]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not access_for(request.user).is_owner:
            raise PermissionDenied(
                _("Only owners may see and change the channel settings."), operation="configure"
            )


class ChannelListView(ChannelOwnerView):
    """``GET``: every channel, on or off, with its settings (secrets masked)."""

    def get(self, request: Request) -> Response:
        return Response(channels_list())


class ChannelDetailView(ChannelOwnerView):
    """``GET`` one channel; ``PATCH`` ``{"enabled", "settings"}`` — settings merge into the
    current ones (``null`` removes a setting; a secret left out or sent masked is kept)."""

    def get(self, request: Request, name: str) -> Response:
        return Response(channel_detail(name))

    def patch(self, request: Request, name: str) -> Response:
        data = request.data
        if not isinstance(data, dict):
            raise ChannelSettingsError({"non_field_errors": [_("Send a JSON object.")]})
        unknown = {
            key: [
                _("Unknown attribute; expected one of: %(keys)s.") % {"keys": "enabled, settings"}
            ]
            for key in data
            if key not in ("enabled", "settings")
        }
        if unknown:
            raise ChannelSettingsError(unknown)
        channel_update(
            name=name,
            enabled=data.get("enabled"),
            settings=data.get("settings"),
            user=request.user,
        )
        return Response(channel_detail(name))


# -- notifications -------------------------------------------------------------------------------


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "title": notification.title,
        "body": notification.body,
        "url": notification.url,
        "entity": notification.entity,
        "record_id": notification.record_id,
        "created_at": notification.created_at,
        "read_at": notification.read_at,
    }


class NotificationListView(APIView):
    """``GET``: a page of the caller's notifications, newest first (``?unread=true`` for the
    unread ones), with ``unread``: how many are unread in all."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        unread_only = parse_flag(request, "unread")
        page = paginate(request, notifications_for(request.user, unread_only=unread_only))
        body = page.body([notification_to_dict(n) for n in page.objects])
        body["unread"] = unread_count(request.user)
        return Response(body)


class NotificationReadView(APIView):
    """``POST``: mark one of the caller's notifications read."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request, notification_id: int) -> Response:
        notification = notification_read(user=request.user, notification_id=notification_id)
        return Response(notification_to_dict(notification))


class NotificationReadAllView(APIView):
    """``POST``: mark all of the caller's notifications read; ``{"marked", "unread": 0}``."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        marked = notifications_read_all(user=request.user)
        return Response({"marked": marked, "unread": unread_count(request.user)})


# -- deliveries ----------------------------------------------------------------------------------


def delivery_to_dict(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "key": delivery.key,
        "channel": delivery.channel,
        "user": delivery.user.get_username() if delivery.user else None,
        "address": delivery.address,
        "subject": delivery.subject,
        "body": delivery.body,
        "source": delivery.source,
        "source_id": delivery.source_id,
        "entity": delivery.entity,
        "record_id": delivery.record_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "sent_at": delivery.sent_at,
    }


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    errors: dict[str, list[str]] = {}
    status = params.get("status") or None
    if status is not None and status not in Delivery.Status.values:
        errors["status"] = [
            _("Expected one of %(values)s, got %(value)r.")
            % {"values": ", ".join(Delivery.Status.values), "value": status}
        ]
    record_id = params.get("record_id") or None
    if record_id is not None:
        if record_id.strip().isdigit():
            record_id = int(record_id)
        else:
            errors["record_id"] = [_("Expected a record id, got %(value)r.") % {"value": record_id}]
    if errors:
        raise BadRequest(errors)
    return {"status": status, "entity": params.get("entity") or None, "record_id": record_id}


class DeliveryListView(APIView):
    """``GET``: a page of the delivery log, newest first; ``?status=failed``, ``?entity=``,
    ``?record_id=``."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        filters = _filters(request)
        page = paginate(request, deliveries_list(request.user, **filters))
        return Response(page.body([delivery_to_dict(d) for d in page.objects]))


class DeliveryRetryView(APIView):
    """``POST``: put a failed delivery back in the queue; answers the delivery as it is after
    the attempt this starts (in the embedded and test modes, the attempt's outcome)."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = delivery_get(request.user, delivery_id)
        delivery_retry(delivery.pk)
        return Response(delivery_to_dict(delivery_get(request.user, delivery_id)))


meta_urlpatterns = [
    path("channels/", ChannelListView.as_view(), name="meta-channel-list"),
    path("channels/<str:name>/", ChannelDetailView.as_view(), name="meta-channel-detail"),
]

notification_urlpatterns = [
    path("", NotificationListView.as_view(), name="notification-list"),
    path("read-all/", NotificationReadAllView.as_view(), name="notification-read-all"),
    path("<int:notification_id>/read/", NotificationReadView.as_view(), name="notification-read"),
]

delivery_urlpatterns = [
    path("", DeliveryListView.as_view(), name="delivery-list"),
    path("<int:delivery_id>/retry/", DeliveryRetryView.as_view(), name="delivery-retry"),
]
