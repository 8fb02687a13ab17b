import requests


def test_base_endpoint_answers_200_with_api_version(registry):
    response = requests.get(registry.url + "/v2/", timeout=10)
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response.json() == {}
