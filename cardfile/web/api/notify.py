"""Reminders and notification rules under /api/v1/meta/: ``reminders/`` and
``notification-rules/``, each a list (GET, POST) and one item (GET, PATCH, DELETE).

For owners and for roles with ``configure`` on the entity; a list shows the definitions of the
entities the caller may configure (``?entity=`` narrows it). The services check the input and
write the audit log; 400 errors are keyed by the JSON key (``offset.unit``,
``recipients[1].field``), a wrong condition also carries its position in ``formula``.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cardfile.metamodel.notify.selectors import (
    reminder_as_dict,
    reminder_get,
    reminder_list,
    rule_as_dict,
    rule_get,
    rule_list,
)
from cardfile.metamodel.notify.services import (
    reminder_create,
    reminder_delete,
    reminder_update,
    rule_create,
    rule_delete,
    rule_update,
)


def _data(request: Request) -> Any:
    data = request.data
    return data.dict() if hasattr(data, "dict") else data


class ReminderListView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        reminders = reminder_list(user=request.user, entity=request.query_params.get("entity"))
        return Response([reminder_as_dict(r) for r in reminders])

    def post(self, request: Request) -> Response:
        reminder = reminder_create(data=_data(request), user=request.user)
        return Response(reminder_as_dict(reminder), status=status.HTTP_201_CREATED)


class ReminderDetailView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, reminder_id: int) -> Response:
        return Response(reminder_as_dict(reminder_get(reminder_id=reminder_id, user=request.user)))

    def patch(self, request: Request, reminder_id: int) -> Response:
        reminder = reminder_update(reminder_id=reminder_id, data=_data(request), user=request.user)
        return Response(reminder_as_dict(reminder))

    def delete(self, request: Request, reminder_id: int) -> Response:
        reminder_delete(reminder_id=reminder_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RuleListView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        rules = rule_list(user=request.user, entity=request.query_params.get("entity"))
        return Response([rule_as_dict(r) for r in rules])

    def post(self, request: Request) -> Response:
        rule = rule_create(data=_data(request), user=request.user)
        return Response(rule_as_dict(rule), status=status.HTTP_201_CREATED)


class RuleDetailView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, rule_id: int) -> Response:
        return Response(rule_as_dict(rule_get(rule_id=rule_id, user=request.user)))

    def patch(self, request: Request, rule_id: int) -> Response:
        rule = rule_update(rule_id=rule_id, data=_data(request), user=request.user)
        return Response(rule_as_dict(rule))

    def delete(self, request: Request, rule_id: int) -> Response:
        rule_delete(rule_id=rule_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("reminders/", ReminderListView.as_view(), name="meta-reminder-list"),
    path("reminders/<int:reminder_id>/", ReminderDetailView.as_view(), name="meta-reminder-detail"),
    path("notification-rules/", RuleListView.as_view(), name="meta-rule-list"),
    path("notification-rules/<int:rule_id>/", RuleDetailView.as_view(), name="meta-rule-detail"),
]
