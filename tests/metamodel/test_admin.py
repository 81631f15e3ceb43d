"""The Django admin changes the schema through the services (DDL, validation, audit log)."""

from __future__ import annotations

import pytest

from cardfile.core.models import AuditLog
from cardfile.metamodel.models import Entity, Field
from cardfile.metamodel.schema.dynamic import get_registry

pytestmark = [pytest.mark.embedded]


def test_an_owner_builds_an_entity_with_fields_in_the_admin(schema_db, owner, client):
    client.force_login(owner)

    response = client.post(
        "/admin/metamodel/entity/add/",
        {"slug": "client", "label": "Client", "label_plural": "Clients", "description": ""},
    )
    assert response.status_code == 302, response.content
    entity = Entity.objects.get(slug="client")

    response = client.post(
        "/admin/metamodel/field/add/",
        {
            "entity": entity.pk,
            "slug": "phone",
            "label": "Phone",
            "type": "phone",
            "options": '{"region": "DE"}',
            "default": "null",
            "help_text": "",
        },
    )
    assert response.status_code == 302, response.content

    schema = get_registry().entity("client")
    record = schema.model.objects.create(**{schema.field("phone").attname: "+49301234567"})
    assert record.pk
    assert AuditLog.objects.filter(object_type="field", action="create", user=owner).exists()


def test_bad_field_options_come_back_as_form_errors(schema_db, owner, client):
    client.force_login(owner)
    client.post("/admin/metamodel/entity/add/", {"slug": "client", "label": "Client"})
    entity = Entity.objects.get(slug="client")

    response = client.post(
        "/admin/metamodel/field/add/",
        {
            "entity": entity.pk,
            "slug": "state",
            "label": "State",
            "type": "choice",
            "options": "{}",
            "default": "null",
            "help_text": "",
        },
    )

    assert response.status_code == 200
    assert "choices" in response.content.decode()
    assert not Field.objects.filter(slug="state").exists()


def test_deleting_in_the_admin_moves_to_the_trash(schema_db, owner, client):
    client.force_login(owner)
    client.post("/admin/metamodel/entity/add/", {"slug": "client", "label": "Client"})
    entity = Entity.objects.get(slug="client")

    response = client.post(f"/admin/metamodel/entity/{entity.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    entity.refresh_from_db()
    assert entity.deleted_at is not None
