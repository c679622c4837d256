"""``Observing``: the metrics recorder and tracer provider one process installs from its settings.

Opened by ``Runtime.open`` (every role: an API process, ``assistantd serve`` alone, or a worker) and closed by
``Runtime.close``, which flushes the spans still batched and puts back what was installed before, so a test
process that builds many apps never counts or exports into a closed one's recorder.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import TracerProvider as AnyProvider

from assistantd.observability import tracing
from assistantd.observability.metrics import Metrics, PrometheusMetrics
from assistantd.observability.metrics import current as current_metrics
from assistantd.observability.metrics import install as install_metrics
from assistantd.settings import Settings


@dataclass
class Observing:
    metrics: Metrics
    provider: TracerProvider | None
    _previous_metrics: Metrics
    _previous_provider: AnyProvider | None

    @classmethod
    def open(cls, settings: Settings, role: str) -> Observing:
        recorder = PrometheusMetrics() if settings.metrics else current_metrics()
        previous_metrics = install_metrics(recorder)
        provider = None
        previous_provider = None
        if settings.otlp_endpoint:
            provider = tracing.otlp_provider(settings.otlp_endpoint, role=role)
            previous_provider = tracing.install(provider)
        return cls(recorder, provider, previous_metrics, previous_provider)

    def close(self) -> None:
        install_metrics(self._previous_metrics)
        if self.provider is not None:
            tracing.install(self._previous_provider)
            self.provider.shutdown()
