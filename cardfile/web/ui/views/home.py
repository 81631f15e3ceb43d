"""The start page: the entities the user may read, as the menu groups them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "ui/home.html")


urlpatterns = [path("", home, name="home")]
