"""List views of records (helper A builds these out)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


@login_required
def record_list(request: HttpRequest, entity: str) -> HttpResponse:
    return render(request, "ui/home.html", {"entity_slug": entity})


urlpatterns = [path("<slug:entity>/", record_list, name="record_list")]
