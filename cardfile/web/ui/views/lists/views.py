"""Saved views of a list: save the list's state under a name (personal, or shared for those
who may configure), update it with the current state, delete it. The state comes from the
list form (``hx-include``); the services check names, rights and the config."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from cardfile.core.exceptions import CardfileError, InvalidInput, NotFound, PermissionDenied
from cardfile.metamodel.access import access_for
from cardfile.metamodel.models import SavedView
from cardfile.metamodel.saved_views import (
    saved_view_create,
    saved_view_delete,
    saved_view_get,
    saved_view_update,
)
from cardfile.metamodel.schema.dynamic import EntitySchema
from cardfile.web.ui.display import screen_entity

from .common import denied
from .state import read_state


def _view_saved(request: HttpRequest, entity: str, view: SavedView | None) -> HttpResponse:
    url = reverse("ui:record_list", args=[entity])
    if view is not None:
        url += f"?view={view.pk}"
    if getattr(request, "htmx", None):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _save_refused(
    request: HttpRequest, schema: EntitySchema, view: SavedView | None, error: CardfileError
) -> HttpResponse:
    errors = getattr(error, "errors", None) or {"": [error.message]}
    messages = [m if not key else f"{key}: {m}" for key, ms in errors.items() for m in ms]
    access = access_for(request.user)
    context = {
        "schema": schema,
        "save_errors": messages,
        "current_view": view,
        "can_configure": access.can_configure(schema),
        "list_url": reverse("ui:record_list", args=[schema.slug]),
        "name": request.POST.get("name", ""),
    }
    return render(request, "ui/_list_view_save.html", context, status=400)


@login_required
@require_POST
def view_create(request: HttpRequest, entity: str) -> HttpResponse:
    _registry, schema = screen_entity(entity)
    access = access_for(request.user)
    if not access.can("read", schema):
        raise Http404(_("There is no entity %(entity)s.") % {"entity": entity})
    state = read_state(request.POST, schema, access, None)
    try:
        view = saved_view_create(
            entity=entity,
            name=request.POST.get("name", ""),
            config=state.config(),
            shared=request.POST.get("shared") == "on",
            user=request.user,
        )
    except (InvalidInput, PermissionDenied) as error:
        return _save_refused(request, schema, None, error)
    return _view_saved(request, entity, view)


@login_required
@require_POST
def view_update(request: HttpRequest, entity: str, view_id: int) -> HttpResponse:
    _registry, schema = screen_entity(entity)
    access = access_for(request.user)
    view = None
    try:
        view = saved_view_get(entity, view_id, request.user)
        state = read_state(request.POST, schema, access, None)
        view = saved_view_update(
            entity=entity, view_id=view.pk, config=state.config(), user=request.user
        )
    except NotFound as error:
        raise Http404(error.message) from None
    except (InvalidInput, PermissionDenied) as error:
        return _save_refused(request, schema, view, error)
    return _view_saved(request, entity, view)


@login_required
@require_POST
def view_delete(request: HttpRequest, entity: str, view_id: int) -> HttpResponse:
    _registry, schema = screen_entity(entity)
    try:
        saved_view_delete(entity=entity, view_id=view_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from None
    except PermissionDenied as error:
        return denied(request, schema, error.message)
    return _view_saved(request, entity, None)
