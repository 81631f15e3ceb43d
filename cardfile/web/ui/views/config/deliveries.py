"""The delivery log: every message that went out or tried to, newest first, with its status,
attempts and last error; failed ones can be retried. For whoever `deliveries_list` allows
(owners all of it; a role with ``configure`` the deliveries of its entities). A record's own
deliveries are a fragment its card loads."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cardfile.connectors.selectors import deliveries_list, delivery_get
from cardfile.core.deliveries import DeliveryError, channel_get, channel_names, delivery_retry
from cardfile.core.models import Delivery
from cardfile.metamodel.access import access_for
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.web.ui.display import screen_entity
from cardfile.web.ui.views.common import ui_view

from .common import configurable

PAGE_SIZE = 50
# A record's card shows its latest deliveries; the log has the rest.
RECORD_LIMIT = 20
STATUS_CLASSES = {
    Delivery.Status.PENDING: "text-bg-secondary",
    Delivery.Status.SENDING: "text-bg-info",
    Delivery.Status.SENT: "text-bg-success",
    Delivery.Status.FAILED: "text-bg-danger",
    Delivery.Status.SKIPPED: "text-bg-warning",
}


def channel_labels() -> dict[str, str]:
    return {name: str(channel_get(name).label) for name in channel_names()}


def _shown(deliveries: list[Delivery]) -> list[Delivery]:
    """The rows with what the table prints: labels, the badge class and the record's link."""
    registry = get_registry()
    entities = {s.slug: s for s in registry.entities()}
    channels = channel_labels()
    for delivery in deliveries:
        schema = entities.get(delivery.entity)
        delivery.entity_label = schema.entity.label if schema else delivery.entity
        delivery.channel_label = channels.get(delivery.channel, delivery.channel)
        delivery.status_class = STATUS_CLASSES.get(delivery.status, "text-bg-light")
        delivery.recipient = (
            delivery.address or (delivery.user.get_username() if delivery.user else "") or "—"
        )
        delivery.record_url = (
            reverse("ui:record_card", args=[schema.slug, delivery.record_id])
            if schema is not None and schema.parent_field is None and delivery.record_id
            else ""
        )
    return deliveries


def _filters(request: HttpRequest) -> dict[str, Any]:
    """The log's filters from the query string; a value that names nothing is ignored."""
    params = request.GET
    status = params.get("status", "")
    channel = params.get("channel", "")
    record = params.get("record", "").strip()
    return {
        "status": status if status in Delivery.Status.values else "",
        "channel": channel if channel in channel_names() else "",
        "entity": params.get("entity", "").strip(),
        "record": int(record) if record.isdigit() and len(record) < 19 else None,
    }


@require_GET
@ui_view
def delivery_log(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    rows = deliveries_list(
        request.user,
        filters["status"] or None,
        entity=filters["entity"] or None,
        record_id=filters["record"],
    )
    if filters["channel"]:
        rows = rows.filter(channel=filters["channel"])
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    _shown(list(page.object_list))
    query = urlencode({k: v for k, v in filters.items() if v not in ("", None)})
    context = {
        "page": page,
        "filters": filters,
        "query": query,
        "statuses": Delivery.Status.choices,
        "channels": channel_labels(),
        "entities": configurable(access_for(request.user)),
        "here": request.get_full_path(),
        "section": "deliveries",
    }
    return render(request, "ui/config/deliveries.html", context)


@require_GET
@ui_view
def record_deliveries(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    """The record's latest deliveries, for its card (a fragment)."""
    _registry, schema = screen_entity(entity)
    return _record_fragment(request, schema.slug, record_id)


def _record_fragment(
    request: HttpRequest, entity: str, record_id: int, notice: dict[str, str] | None = None
) -> HttpResponse:
    rows = deliveries_list(request.user, entity=entity, record_id=record_id)
    deliveries = _shown(list(rows[: RECORD_LIMIT + 1]))
    context = {
        "deliveries": deliveries[:RECORD_LIMIT],
        "more": len(deliveries) > RECORD_LIMIT,
        "entity": entity,
        "record_id": record_id,
        "notice": notice,
        "log_url": reverse("ui:config-deliveries")
        + "?"
        + urlencode({"entity": entity, "record": record_id}),
    }
    return render(request, "ui/_record_deliveries.html", context)


@require_POST
@ui_view
def delivery_retry_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """Queue a failed delivery again (it is attempted at once after commit). From a card's
    fragment (``?from=record``) the answer is the fragment again; else back to the log."""
    delivery = delivery_get(request.user, delivery_id)
    try:
        delivery_retry(delivery.pk)
    except DeliveryError as error:
        level, text = messages.ERROR, error.message
    else:
        status = delivery_get(request.user, delivery_id).get_status_display()
        level = messages.SUCCESS
        text = _("Delivery #%(id)s was retried; it is now %(status)s.") % {
            "id": delivery_id,
            "status": status,
        }
    if request.GET.get("from") == "record" and delivery.entity and delivery.record_id:
        notice = {"level": "success" if level == messages.SUCCESS else "danger", "text": text}
        return _record_fragment(request, delivery.entity, delivery.record_id, notice=notice)
    messages.add_message(request, level, text)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("ui:config-deliveries")


urlpatterns = [
    path("deliveries/", delivery_log, name="config-deliveries"),
    path("deliveries/<int:delivery_id>/retry/", delivery_retry_view, name="config-delivery-retry"),
]

record_urlpatterns = [
    path(
        "<slug:entity>/<int:record_id>/deliveries/",
        record_deliveries,
        name="record_deliveries",
    ),
]
