import time

from litestar.testing import TestClient

from tests.conftest import make_settings
from tierslieu.app import create_app


def test_livez_answers_without_database(tmp_path):
    # A database that cannot exist: livez must not care.
    settings = make_settings(f"sqlite:///{tmp_path}/missing-dir/none.db")
    with TestClient(app=create_app(settings)) as client:
        assert client.get("/livez").json() == {"status": "ok"}
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"


def test_health_checks_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert set(response.json()) == {"status", "loop_lag_ms", "outbox"}


def test_health_reports_the_event_loop_lag_and_a_block_raises_it(client):
    """The lag monitor runs on the app's own event loop: blocking that loop for 0.6 s
    (a synchronous sleep run on it) shows as a lag of about that much on /health."""
    time.sleep(0.5)  # let the monitor take a few samples
    before = client.get("/health").json()["loop_lag_ms"]
    assert isinstance(before, float | int)
    assert before < 400
    client.blocking_portal.call(time.sleep, 0.6)  # a sync callable runs on the event loop thread
    time.sleep(0.3)
    after = client.get("/health").json()["loop_lag_ms"]
    assert after >= 450, after


def test_openapi_documents_every_operation_with_a_summary(client):
    schema = client.get("/schema/openapi.json").json()
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) >= 15
    missing = [(p, m) for p, m, op in operations if not op.get("summary")]
    assert missing == []


def test_unknown_route_is_a_french_problem(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Introuvable"
