"""What every card view shares: the sign-in and error wrapper, the entity of the URL and the
redirect that works for htmx and plain posts alike."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound, PermissionDenied
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry


def card_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in; the domain's refusals become 403 and 404."""

    @login_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as error:
            raise Forbidden(error.message) from None
        except NotFound as error:
            raise Http404(error.message) from None

    return wrapped


def card_entity(slug: str) -> tuple[SchemaRegistry, EntitySchema]:
    """The entity of the URL; lines have no card of their own (they live in their parent's)."""
    registry = get_registry()
    schema = registry.entity(slug)
    if schema.parent_field is not None:
        raise NotFound(_("There is no entity %(entity)s.") % {"entity": slug})
    return registry, schema


def redirect(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
