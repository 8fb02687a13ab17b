"""Scrape a test server's metrics listener and read its samples."""

from __future__ import annotations

import re
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import RegistryServer

METRICS_ENV = {"HT_METRICS_ENABLED": "true", "HT_METRICS_PORT": "0"}
_LISTENING = re.compile(r"metrics listening on (?P<host>[\d.]+):(?P<port>\d+)")


def metrics_url(server: RegistryServer | list[str], path: str = "/metrics",
                timeout: float = 30) -> str:
    """Where a server's metrics listener answers (HT_METRICS_PORT=0: read from its log, a
    RegistryServer's or the lines of a process started otherwise)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = "".join(server) if isinstance(server, list) else server.log_text()
        match = _LISTENING.search(text)
        if match:
            return f"http://{match['host']}:{match['port']}{path}"
        time.sleep(0.05)
    raise AssertionError("no metrics listener in the log:\n" + text[-3000:])


class Samples:
    """One scrape: sample values by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.values[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def get(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
        wanted = set(labels.items())
        return sum(value for (sample, have), value in self.values.items()
                   if sample == name and wanted <= have)


def scrape(url: str) -> Samples:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return Samples(response.text)
