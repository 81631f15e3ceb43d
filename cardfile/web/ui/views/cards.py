"""Record cards (helper B builds these out)."""

from __future__ import annotations

from django.urls import path

urlpatterns: list[path] = []
