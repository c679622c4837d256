"""What an operator watches: Prometheus metrics (``metrics.py``), OpenTelemetry traces (``tracing.py``), logs as
human lines or JSON objects (``logs.py``), and the ASGI middleware that gives each request its id, span, log
context and request metrics (``middleware.py``). See ``docs/observability.md``.

Both recorders are process-wide by nature (a Prometheus registry counts what one process did; an OTel tracer
provider exports one process's spans), so each is one module-level slot holding a no-op until the composition
root installs a real one (``Runtime.open``), and is restored when it closes. Code that records calls the slot,
never a global metric object, so metrics or tracing off cost one no-op method call.
"""
