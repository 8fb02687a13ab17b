import requests

from tests.support.server import admin_http


def test_base_endpoint_challenges_anonymous_clients(registry):
    response = requests.get(registry.url + "/v2/", timeout=10)
    assert response.status_code == 401
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'realm="{registry.url}/service/token"' in challenge
    assert 'service="harbor-registry"' in challenge


def test_base_endpoint_answers_200_with_a_token(registry):
    response = admin_http.get(registry.url + "/v2/", timeout=10)
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response.json() == {}
