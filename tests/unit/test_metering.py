"""The request tally hands prometheus_client exactly what observing each request would."""

from prometheus_client import REGISTRY

from harbor_twisted.web.metering import HttpMeter, surface_of

DURATION = "registry_http_request_duration_seconds"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_flush_gives_the_buckets_sum_and_count_of_each_observation():
    labels = {"handler": "tags", "method": "GET"}
    buckets = {le: _value(f"{DURATION}_bucket", **labels, le=le)
               for le in ("0.005", "0.025", "0.5", "60.0", "+Inf")}
    total, count = _value(f"{DURATION}_sum", **labels), _value(f"{DURATION}_count", **labels)
    sent = _value("registry_http_response_size_bytes_sum", handler="tags")
    meter = HttpMeter()
    for seconds in (0.001, 0.02, 0.3, 100.0):
        meter.begin("tags")
        meter.end("tags", "", "GET", "200", seconds, 0, 10)
    meter.begin("tags")  # still in flight at the flush
    assert _value(f"{DURATION}_count", **labels) == count  # nothing before the flush
    meter.flush()
    expected = {"0.005": 1, "0.025": 2, "0.5": 3, "60.0": 3, "+Inf": 4}
    for le, more in expected.items():
        assert _value(f"{DURATION}_bucket", **labels, le=le) == buckets[le] + more
    assert _value(f"{DURATION}_sum", **labels) == total + 100.321
    assert _value(f"{DURATION}_count", **labels) == count + 4
    assert _value("registry_http_response_size_bytes_sum", handler="tags") == sent + 40
    assert _value("registry_http_in_flight_requests", handler="tags") == 1
    meter.end("tags", "", "GET", "499", 0.1, 0, 0)
    meter.flush()
    assert _value("registry_http_in_flight_requests", handler="tags") == 0
    assert _value("registry_http_requests_total", code="499", handler="tags", method="GET") >= 1


def test_core_requests_no_route_named_are_labelled_by_surface_only():
    assert surface_of(b"/api/v2.0/projects/secret-name/nothing") == "/api/*"
    assert surface_of(b"/c/login") == "/c/*"
    assert surface_of(b"/service/token") == "/service/token"
    assert surface_of(b"/harbor/projects/7") == "/harbor/*"
    assert surface_of(b"/anything/else/at/all") == "other"
