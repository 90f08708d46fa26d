from tests.conftest import PASSWORD, login, register, unique_email


def test_register_login_me_logout(client):
    response = client.post(
        "/api/auth/register",
        json={
            "email": "Jeanne.Martin@Exemple.test",
            "password": PASSWORD,
            "display_name": "Jeanne Martin",
            "kind": "neighbour",
            "phone": "01 48 00 00 01",
        },
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "accepted" and "connecter" in body["detail"]
    assert "password" not in str(body) and "id" not in body

    # The new account signs in at once.
    token = login(client, "jeanne.martin@exemple.test")
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["email"] == "jeanne.martin@exemple.test"
    assert me.json()["display_name"] == "Jeanne Martin"
    assert me.json()["is_admin"] is False
    assert me.json()["memberships"] == []

    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    after = client.get("/api/me", headers=headers)
    assert after.status_code == 401
    assert after.headers["www-authenticate"].startswith("Bearer")


def test_nobody_grants_themselves_rights(client):
    for extra in (
        {"role": "admin"},
        {"is_admin": True},
        {"id": "00000000-0000-0000-0000-000000000000"},
    ):
        email = unique_email()
        response = client.post(
            "/api/auth/register",
            json={
                "email": email,
                "password": PASSWORD,
                "display_name": "X",
                "kind": "neighbour",
                **extra,
            },
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == next(iter(extra))
        # Nothing was created: the account cannot sign in.
        assert (
            client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code
            == 401
        )
    person = register(client, unique_email())
    me = client.get("/api/me", headers=person.headers).json()
    assert me["is_admin"] is False and me["memberships"] == []
    assert (
        client.post(
            "/api/structures",
            json={"slug": "ma-structure", "name": "X", "kind": "other", "commune": "Bondy"},
            headers=person.headers,
        ).status_code
        == 403
    )


def test_register_refuses_bad_input(client):
    base = {"email": unique_email(), "password": PASSWORD, "display_name": "X", "kind": "neighbour"}
    cases = [
        ({**base, "email": "pas-une-adresse"}, "email"),
        ({**base, "password": "court"}, "password"),
        ({**base, "kind": "robot"}, "kind"),
        ({**base, "display_name": 12}, "display_name"),
        ({k: v for k, v in base.items() if k != "email"}, "email"),
    ]
    for body, field in cases:
        response = client.post("/api/auth/register", json=body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert problem["status"] == 422 and problem["type"].endswith("/validation-error")
        assert [e["field"] for e in problem["errors"]] == [field]


def test_wrong_password_and_unknown_account_look_the_same(client):
    email = unique_email()
    register(client, email)
    wrong = client.post(
        "/api/auth/login", json={"email": email, "password": "mauvais-mot-de-passe"}
    )
    unknown = client.post("/api/auth/login", json={"email": unique_email(), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_repeated_failures_lock_the_account_for_that_client(client):
    email = unique_email()
    register(client, email)
    for _ in range(5):
        assert (
            client.post("/api/auth/login", json={"email": email, "password": "x" * 12}).status_code
            == 401
        )
    # The client that guessed is refused, even with the right password (no oracle).
    locked = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert locked.json()["code"] == "too-many-attempts"


def test_repeated_failures_from_one_client_are_refused(client):
    # 20 failures spread over many accounts from one address: the 21st try is refused.
    for i in range(20):
        client.post(
            "/api/auth/login", json={"email": f"inconnu{i}@exemple.test", "password": "x" * 12}
        )
    email = unique_email()
    register_response = client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "Z", "kind": "neighbour"},
    )
    assert register_response.status_code == 202
    assert (
        client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code
        == 429
    )


def test_bad_or_missing_token_is_401(client):
    assert client.get("/api/me").status_code == 401
    bad = client.get("/api/me", headers={"Authorization": "Bearer not-a-real-token"})
    assert bad.status_code == 401
    assert bad.json()["title"] == "Connexion requise"
    english = client.get(
        "/api/me", headers={"Authorization": "Bearer nope", "Accept-Language": "en"}
    )
    assert english.json()["title"] == "Sign-in required"
    assert english.headers["content-language"] == "en"


def test_admin_comes_only_from_the_command_line(client, admin):
    me = client.get("/api/me", headers=admin.headers).json()
    assert me["is_admin"] is True
