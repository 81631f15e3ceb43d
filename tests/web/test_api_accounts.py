"""Roles, users, branches and API tokens through the API; who may manage them; the audit log."""

from __future__ import annotations

import hashlib
import importlib
import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from cardfile.core.accounts import token_create
from cardfile.core.models import ApiToken, AuditLog, Branch
from cardfile.formula_engine import FormulaError
from cardfile.metamodel.access import access_for
from cardfile.metamodel.formulas import check_condition, formula_check
from cardfile.metamodel.models import EntityRights, Role
from cardfile.metamodel.schema.dynamic import get_registry
from tests.builders import build_shop_schema

META = "/api/v1/meta"
TOKENS = "/api/v1/auth/tokens/"
NO_RIGHTS = {
    "read": False,
    "create": False,
    "update": False,
    "delete": False,
    "export": False,
    "print": False,
    "configure": False,
}
GOOD_PASSWORD = "plum-orchard-42"


@pytest.fixture
def shop(owner):
    return build_shop_schema(owner)


def _token_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _create_role(api, body):
    response = api.post(f"{META}/roles/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _entries(object_type, object_id):
    return list(
        AuditLog.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("id")
    )


# -- roles -------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_role_crud(api, shop):
    # when
    created = _create_role(
        api,
        {
            "name": "technician",
            "label": "Technician",
            "description": "Repairs devices",
            "permissions": {
                "order": {
                    "read": True,
                    "update": True,
                    "fields": {"state": "read_only"},
                    "rule": 'state = "in_work"',
                }
            },
        },
    )
    # then
    assert created == {
        "name": "technician",
        "label": "Technician",
        "description": "Repairs devices",
        "is_owner": False,
        "permissions": {
            "order": {
                **NO_RIGHTS,
                "read": True,
                "update": True,
                "fields": {"state": "read_only"},
                "rule": 'state = "in_work"',
            }
        },
    }
    assert api.get(f"{META}/roles/technician/").json() == created
    assert "technician" in [role["name"] for role in api.get(f"{META}/roles/").json()]
    role = Role.objects.get(group__name="technician")
    state = get_registry().entity("order").by_slug["state"]
    assert role.rights.get().fields == {str(state.pk): "read_only"}

    # when: rights on client are added, order's are left as they are
    changed = api.patch(
        f"{META}/roles/technician/",
        {"label": "Master", "permissions": {"client": {"read": True}}},
        format="json",
    )
    # then
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert body["label"] == "Master"
    assert set(body["permissions"]) == {"client", "order"}
    assert body["permissions"]["client"] == {**NO_RIGHTS, "read": True, "fields": {}, "rule": ""}
    assert body["permissions"]["order"] == created["permissions"]["order"]

    # when: order's rights are replaced as a whole, client's removed
    changed = api.patch(
        f"{META}/roles/technician/",
        {"permissions": {"order": {"read": True}, "client": None}},
        format="json",
    )
    # then
    assert changed.json()["permissions"] == {
        "order": {**NO_RIGHTS, "read": True, "fields": {}, "rule": ""}
    }

    # when
    deleted = api.delete(f"{META}/roles/technician/")
    # then
    assert deleted.status_code == 204
    assert api.get(f"{META}/roles/technician/").status_code == 404
    assert not Group.objects.filter(name="technician").exists()
    assert not EntityRights.objects.filter(role_id=role.pk).exists()


@pytest.mark.embedded
def test_the_owner_role_is_made_by_a_migration(api, shop):
    migration = importlib.import_module("cardfile.metamodel.migrations.0007_owner_role")
    Group.objects.filter(name="owner").delete()
    # when: run on a database without it, then again
    migration.create_owner_role(apps, None)
    migration.create_owner_role(apps, None)
    # then
    owner_role = Role.objects.get(group__name="owner")
    assert (owner_role.label, owner_role.is_owner) == ("Owner", True)
    assert api.get(f"{META}/roles/owner/").json() == {
        "name": "owner",
        "label": "Owner",
        "description": "",
        "is_owner": True,
        "permissions": {},
    }
    # a group of that name without a role gets one
    owner_role.delete()
    migration.create_owner_role(apps, None)
    assert Role.objects.get(group__name="owner").is_owner


@pytest.mark.embedded
def test_role_rename_and_a_taken_name(api, shop):
    _create_role(api, {"name": "cashier"})
    _create_role(api, {"name": "manager"})

    taken = api.patch(f"{META}/roles/cashier/", {"name": "manager"}, format="json")
    assert taken.status_code == 400
    assert list(taken.json()["errors"]) == ["name"]

    renamed = api.patch(f"{META}/roles/cashier/", {"name": "front_desk"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "front_desk"
    assert renamed.json()["label"] == "cashier"
    assert api.get(f"{META}/roles/cashier/").status_code == 404
    assert Group.objects.filter(name="front_desk").exists()


@pytest.mark.embedded
def test_role_validation_reports_every_problem_by_path(api, shop):
    # when
    response = api.post(
        f"{META}/roles/",
        {
            "name": "Bad Name",
            "colour": "red",
            "is_owner": "yes",
            "permissions": {
                "ghost": {"read": True},
                "order": {
                    "read": "yes",
                    "fly": True,
                    "fields": {"price": "hidden", "state": "invisible", "client": "hidden"},
                },
                "client": ["read"],
            },
        },
        format="json",
    )
    # then
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    errors = body["errors"]
    assert set(errors) == {
        "name",
        "colour",
        "is_owner",
        "permissions.ghost",
        "permissions.order.read",
        "permissions.order.fly",
        "permissions.order.fields.price",
        "permissions.order.fields.state",
        "permissions.client",
    }
    assert "ghost" in errors["permissions.ghost"][0]
    assert "price" in errors["permissions.order.fields.price"][0]
    assert "hidden" in errors["permissions.order.fields.state"][0]
    assert not Group.objects.filter(name="Bad Name").exists()
    assert not Role.objects.exclude(group__name="owner").exists()


@pytest.mark.embedded
@pytest.mark.parametrize("rule", ['state = "new" AND', "state", 'client = "x"'])
def test_a_bad_row_rule_is_refused_with_the_formula_message(api, shop, rule):
    # given: what the formula engine says of the rule as a condition on order
    with pytest.raises(FormulaError) as expected:
        check_condition(formula_check(entity="order", expression=rule))
    # when
    response = api.post(
        f"{META}/roles/",
        {"name": "clerk_role", "permissions": {"order": {"read": True, "rule": rule}}},
        format="json",
    )
    # then
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"permissions.order.rule": [expected.value.message]}
    assert body["formula"]["path"] == "permissions.order.rule"
    assert body["formula"]["message"] == expected.value.message
    assert body["formula"]["position"] == expected.value.as_dict()["position"]
    assert not Group.objects.filter(name="clerk_role").exists()


@pytest.mark.embedded
def test_field_rules_survive_a_field_rename(api, shop):
    _create_role(
        api,
        {
            "name": "viewer",
            "permissions": {"client": {"read": True, "fields": {"phone": "hidden"}}},
        },
    )
    # when
    renamed = api.patch(f"{META}/entities/client/fields/phone/", {"slug": "mobile"}, format="json")
    assert renamed.status_code == 200, renamed.json()
    # then
    assert api.get(f"{META}/roles/viewer/").json()["permissions"]["client"]["fields"] == {
        "mobile": "hidden"
    }


@pytest.mark.embedded
def test_a_role_given_to_a_user_gives_its_rights(api, shop, clerk):
    order = get_registry().entity("order")
    assert not access_for(clerk).can("read", order)
    _create_role(api, {"name": "reader", "permissions": {"order": {"read": True}}})
    # when
    response = api.patch(f"{META}/users/clerk/", {"roles": ["reader"]}, format="json")
    # then
    assert response.status_code == 200, response.json()
    assert access_for(get_user_model().objects.get(pk=clerk.pk)).can("read", order)


@pytest.mark.embedded
def test_only_owners_manage_roles_users_and_branches(clerk_api, api, shop, clerk):
    for method, url, body in (
        ("get", f"{META}/roles/", None),
        ("post", f"{META}/roles/", {"name": "sneaky", "is_owner": True}),
        ("get", f"{META}/roles/owner/", None),
        ("delete", f"{META}/roles/owner/", None),
        ("get", f"{META}/users/", None),
        ("post", f"{META}/users/", {"username": "x", "password": GOOD_PASSWORD}),
        ("patch", f"{META}/users/clerk/", {"roles": ["owner"]}),
        ("post", f"{META}/branches/", {"name": "Annex"}),
    ):
        response = getattr(clerk_api, method)(url, body, format="json")
        assert response.status_code == 403, (method, url)
        assert response.json()["code"] == "permission_denied"
    assert not Group.objects.filter(name="sneaky").exists()
    assert not Branch.objects.exists()
    # any signed-in user lists the branches
    assert clerk_api.get(f"{META}/branches/").status_code == 200

    # an owner role (not only a superuser) may manage
    _create_role(api, {"name": "boss", "is_owner": True})
    api.patch(f"{META}/users/clerk/", {"roles": ["boss"]}, format="json")
    assert clerk_api.get(f"{META}/roles/").status_code == 200


@pytest.mark.embedded
def test_unknown_roles_and_users_are_404(api, shop):
    for method in ("get", "patch", "delete"):
        response = getattr(api, method)(f"{META}/roles/ghost/", {}, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_role"
    for method in ("get", "patch"):
        response = getattr(api, method)(f"{META}/users/ghost/", {}, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_user"


@pytest.mark.embedded
def test_an_owner_cannot_take_away_their_own_owner_rights(api, shop, clerk):
    _create_role(api, {"name": "boss", "is_owner": True})
    api.patch(f"{META}/users/clerk/", {"roles": ["boss"]}, format="json")
    as_boss = APIClient()
    as_boss.force_authenticate(clerk)

    for method, url, body, key in (
        ("patch", f"{META}/roles/boss/", {"is_owner": False}, "is_owner"),
        ("delete", f"{META}/roles/boss/", None, "is_owner"),
        ("patch", f"{META}/users/clerk/", {"roles": []}, "roles"),
        ("patch", f"{META}/users/clerk/", {"is_active": False}, "is_active"),
    ):
        response = getattr(as_boss, method)(url, body, format="json")
        assert response.status_code == 400, (method, url)
        assert list(response.json()["errors"]) == [key]
    assert Role.objects.get(group__name="boss").is_owner
    assert clerk.groups.filter(name="boss").exists()
    # another owner may
    assert api.patch(f"{META}/roles/boss/", {"is_owner": False}, format="json").status_code == 200


@pytest.mark.embedded
def test_role_changes_are_in_the_audit_log(api, shop, owner):
    created = _create_role(api, {"name": "cashier", "label": "Cashier"})
    role_id = Role.objects.get(group__name="cashier").pk
    api.patch(
        f"{META}/roles/cashier/",
        {"label": "Cash desk", "permissions": {"order": {"read": True}}},
        format="json",
    )
    api.patch(f"{META}/roles/cashier/", {"label": "Cash desk"}, format="json")  # no change
    api.delete(f"{META}/roles/cashier/")

    entries = _entries("role", role_id)
    assert [e.action for e in entries] == ["create", "update", "purge"]
    assert all(e.user_id == owner.pk and e.object_repr == "cashier" for e in entries)
    assert entries[0].after == created
    assert entries[1].before == {"label": "Cashier", "permissions": {}}
    assert entries[1].after == {
        "label": "Cash desk",
        "permissions": {"order": {**NO_RIGHTS, "read": True, "fields": {}, "rule": ""}},
    }
    assert entries[2].before["name"] == "cashier"
    assert entries[2].after is None


@pytest.mark.embedded
def test_list_queries_do_not_grow_with_rows(api, shop):
    def count(url):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured)

    _create_role(api, {"name": "one", "permissions": {"order": {"read": True}}})
    user = api.post(
        f"{META}/users/",
        {"username": "first", "password": GOOD_PASSWORD, "roles": ["one"]},
        format="json",
    )
    assert user.status_code == 201, user.json()
    roles_few, users_few = count(f"{META}/roles/"), count(f"{META}/users/")
    branch = api.post(f"{META}/branches/", {"name": "Main"}, format="json").json()
    for n in range(4):
        _create_role(
            api, {"name": f"role_{n}", "permissions": {"order": {"read": True}, "client": {}}}
        )
        api.post(
            f"{META}/users/",
            {
                "username": f"user_{n}",
                "password": GOOD_PASSWORD,
                "roles": ["one", f"role_{n}"],
                "branches": [branch["id"]],
            },
            format="json",
        )
    assert count(f"{META}/roles/") == roles_few
    assert count(f"{META}/users/") == users_few


# -- users -------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_user_crud(api, shop):
    _create_role(api, {"name": "cashier"})
    _create_role(api, {"name": "technician"})
    main = api.post(f"{META}/branches/", {"name": "Main"}, format="json").json()
    annex = api.post(f"{META}/branches/", {"name": "Annex"}, format="json").json()

    # when
    created = api.post(
        f"{META}/users/",
        {
            "username": "olga",
            "password": GOOD_PASSWORD,
            "email": "olga@example.com",
            "first_name": "Olga",
            "last_name": "Petrova",
            "roles": ["technician", "cashier"],
            "branches": [main["id"]],
        },
        format="json",
    )
    # then
    assert created.status_code == 201, created.json()
    body = created.json()
    assert "password" not in body
    assert {k: body[k] for k in ("username", "email", "first_name", "last_name")} == {
        "username": "olga",
        "email": "olga@example.com",
        "first_name": "Olga",
        "last_name": "Petrova",
    }
    assert body["roles"] == ["cashier", "technician"]
    assert body["branches"] == [main["id"]]
    assert body["is_active"] is True
    assert api.get(f"{META}/users/olga/").json() == body
    assert "olga" in [u["username"] for u in api.get(f"{META}/users/").json()]
    olga = get_user_model().objects.get(username="olga")
    assert olga.check_password(GOOD_PASSWORD)

    # when
    changed = api.patch(
        f"{META}/users/olga/",
        {"roles": ["cashier"], "branches": [annex["id"], main["id"]], "is_active": False},
        format="json",
    )
    # then
    assert changed.status_code == 200, changed.json()
    assert changed.json()["roles"] == ["cashier"]
    assert changed.json()["branches"] == sorted([annex["id"], main["id"]])
    assert changed.json()["is_active"] is False

    # a plain Django group the user is in is not a role and survives a change of roles
    olga.groups.add(Group.objects.create(name="newsletter"))
    api.patch(f"{META}/users/olga/", {"roles": []}, format="json")
    assert list(olga.groups.values_list("name", flat=True)) == ["newsletter"]


@pytest.mark.embedded
def test_user_input_is_checked_as_a_whole(api, shop):
    _create_role(api, {"name": "cashier"})
    api.post(f"{META}/users/", {"username": "olga", "password": GOOD_PASSWORD}, format="json")
    # when
    response = api.post(
        f"{META}/users/",
        {
            "username": "OLGA",
            "password": "12345",
            "email": "not-an-address",
            "roles": ["cashier", "ghost", "phantom"],
            "branches": [999999],
            "is_superuser": True,
        },
        format="json",
    )
    # then
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"username", "password", "email", "roles", "branches", "is_superuser"}
    assert any("short" in message for message in errors["password"])
    assert any("numeric" in message for message in errors["password"])
    assert "ghost" in errors["roles"][0]
    assert "phantom" in errors["roles"][0]
    assert "cashier" not in errors["roles"][0]
    assert "999999" in errors["branches"][0]
    assert not get_user_model().objects.filter(username="OLGA").exists()

    # the policy applies on a change too, and compares with the names the user will have
    weak = api.patch(
        f"{META}/users/olga/",
        {"first_name": "Bartholomew", "password": "bartholomew1"},
        format="json",
    )
    assert weak.status_code == 400
    assert list(weak.json()["errors"]) == ["password"]
    assert get_user_model().objects.get(username="olga").first_name == ""


@pytest.mark.embedded
def test_user_changes_are_in_the_audit_log_without_the_password(api, shop, owner):
    created = api.post(
        f"{META}/users/", {"username": "olga", "password": GOOD_PASSWORD}, format="json"
    ).json()
    api.patch(
        f"{META}/users/olga/",
        {"password": "another-plum-77", "first_name": "Olga"},
        format="json",
    )

    entries = _entries("user", created["id"])
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[0].user_id == owner.pk
    assert entries[0].after["username"] == "olga"
    assert entries[0].after["password"] == "changed"
    assert entries[1].before == {"first_name": "", "password": None}
    assert entries[1].after == {"first_name": "Olga", "password": "changed"}
    logged = json.dumps([[e.before, e.after] for e in AuditLog.objects.all()])
    assert GOOD_PASSWORD not in logged
    assert "another-plum-77" not in logged


# -- branches ----------------------------------------------------------------------------------


@pytest.mark.embedded
def test_branches(api, clerk_api, shop):
    created = api.post(
        f"{META}/branches/", {"name": "Main", "address": "1 High St", "phone": "+49 30 1234"}
    )
    assert created.status_code == 201, created.json()
    assert created.json() == {
        "id": created.json()["id"],
        "name": "Main",
        "address": "1 High St",
        "phone": "+49 30 1234",
        "is_active": True,
    }
    bad = api.post(f"{META}/branches/", {"name": "main", "floor": 2, "phone": 5}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"name", "floor", "phone"}
    assert [b["name"] for b in clerk_api.get(f"{META}/branches/").json()] == ["Main"]
    assert AuditLog.objects.filter(object_type="branch", action="create").count() == 1


@pytest.mark.embedded
def test_branch_patch_changes_only_what_is_given(api, clerk_api, shop):
    main = api.post(f"{META}/branches/", {"name": "Main", "address": "1 High St"}).json()
    api.post(f"{META}/branches/", {"name": "Annex"})
    url = f"{META}/branches/{main['id']}/"

    # when: an owner renames it, changes the phone and retires it
    changed = api.patch(
        url, {"name": " Central ", "phone": "+49 30 99", "is_active": False}, format="json"
    )

    # then: the rest stays, and the audit log has before and after of what changed
    assert changed.status_code == 200, changed.json()
    assert changed.json() == {
        "id": main["id"],
        "name": "Central",
        "address": "1 High St",
        "phone": "+49 30 99",
        "is_active": False,
    }
    assert clerk_api.get(url).json()["name"] == "Central"
    (entry,) = AuditLog.objects.filter(object_type="branch", action="update")
    assert entry.object_id == str(main["id"])
    assert entry.before == {"name": "Main", "phone": "", "is_active": True}
    assert entry.after == {"name": "Central", "phone": "+49 30 99", "is_active": False}

    # a change that changes nothing writes no entry
    assert api.patch(url, {"address": "1 High St"}, format="json").status_code == 200
    assert AuditLog.objects.filter(object_type="branch", action="update").count() == 1


@pytest.mark.embedded
def test_branch_patch_is_checked_as_a_whole_and_for_owners_only(api, clerk_api, shop):
    main = api.post(f"{META}/branches/", {"name": "Main"}).json()
    api.post(f"{META}/branches/", {"name": "Annex"})
    url = f"{META}/branches/{main['id']}/"

    bad = api.patch(
        url, {"name": "annex", "phone": 5, "is_active": "no", "floor": 2}, format="json"
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"name", "phone", "is_active", "floor"}
    assert "annex" in bad.json()["errors"]["name"][0]
    blank = api.patch(url, {"name": "  "}, format="json")
    assert set(blank.json()["errors"]) == {"name"}

    refused = clerk_api.patch(url, {"name": "Mine"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert api.patch(f"{META}/branches/999999/", {"name": "X"}, format="json").status_code == 404
    assert Branch.objects.get(pk=main["id"]).name == "Main"
    assert not AuditLog.objects.filter(object_type="branch", action="update").exists()


# -- API tokens --------------------------------------------------------------------------------


@pytest.mark.embedded
def test_sign_in_makes_a_named_token(shop, owner):
    anonymous = APIClient()
    bad = anonymous.post(
        "/api/v1/auth/token/", {"username": "owner", "password": "wrong"}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_credentials"
    missing = anonymous.post("/api/v1/auth/token/", {"username": "owner"}, format="json")
    assert missing.status_code == 400
    assert list(missing.json()["errors"]) == ["password"]

    got = anonymous.post(
        "/api/v1/auth/token/", {"username": "owner", "password": "s3cret-pass!"}, format="json"
    )
    assert got.status_code == 200
    key = got.json()["token"]
    token = ApiToken.objects.get(user=owner)
    assert token.name == "api"
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    assert _token_client(key).get(f"{META}/roles/").status_code == 200
    owner.refresh_from_db()
    assert owner.last_login is not None


@pytest.mark.embedded
def test_token_lifecycle(shop, clerk, clerk_api):
    # when
    created = clerk_api.post(TOKENS, {"name": "label printer"}, format="json")
    # then
    assert created.status_code == 201, created.json()
    body = created.json()
    key = body["key"]
    assert body["name"] == "label printer"
    assert body["prefix"] == key[:8]
    assert body["revoked_at"] is None
    token = ApiToken.objects.get(pk=body["id"])
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps([token.prefix, token.key_hash, token.name])

    # the key works, and its use is noted
    with_key = _token_client(key)
    listed = with_key.get(TOKENS)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [token.pk]
    assert "key" not in listed.json()[0]
    token.refresh_from_db()
    assert token.last_used_at is not None

    # when
    revoked = clerk_api.delete(f"{TOKENS}{token.pk}/")
    # then
    assert revoked.status_code == 204
    refused = with_key.get(TOKENS)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Token"
    assert clerk_api.get(TOKENS).json()[0]["revoked_at"] is not None
    assert clerk_api.delete(f"{TOKENS}{token.pk}/").status_code == 204  # twice: no change
    assert [e.action for e in _entries("api_token", token.pk)] == ["create", "update"]


@pytest.mark.embedded
def test_tokens_of_others(shop, owner, clerk, api, clerk_api):
    owners_token, _key = token_create(user=owner, name="owner's")
    clerks_token, _key = token_create(user=clerk, name="clerk's")
    # a user neither sees nor revokes another's token
    assert [t["id"] for t in clerk_api.get(TOKENS).json()] == [clerks_token.pk]
    assert clerk_api.delete(f"{TOKENS}{owners_token.pk}/").status_code == 404
    owners_token.refresh_from_db()
    assert owners_token.revoked_at is None
    # an owner revokes anyone's
    assert api.delete(f"{TOKENS}{clerks_token.pk}/").status_code == 204
    clerks_token.refresh_from_db()
    assert clerks_token.revoked_at is not None


@pytest.mark.embedded
def test_a_token_of_a_deactivated_user_is_refused(shop, api, clerk):
    _token, key = token_create(user=clerk, name="script")
    assert _token_client(key).get(TOKENS).status_code == 200
    # when
    api.patch(f"{META}/users/clerk/", {"is_active": False}, format="json")
    # then
    response = _token_client(key).get(TOKENS)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.embedded
def test_bad_token_headers_are_refused(shop):
    for header in ("Token", "Token two parts", "Token nope"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get(TOKENS).status_code == 401, header


@pytest.mark.embedded
def test_last_used_is_written_at_most_once_a_minute(shop, clerk):
    token, key = token_create(user=clerk)
    client = _token_client(key)
    recently = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recently)
    client.get(TOKENS)
    token.refresh_from_db()
    assert token.last_used_at == recently

    long_ago = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)
    client.get(TOKENS)
    token.refresh_from_db()
    assert token.last_used_at > long_ago + timedelta(minutes=1)


@pytest.mark.embedded
def test_token_names_are_checked(shop, clerk_api):
    response = clerk_api.post(TOKENS, {"name": "x" * 101, "scope": "all"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["scope"]
    response = clerk_api.post(TOKENS, {"name": "x" * 101}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]
    assert not ApiToken.objects.exists()
