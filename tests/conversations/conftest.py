"""Conversations tests: the app with a scripted model, the fixtures of the Responses tests."""

from tests.responses.conftest import app, backend, fastapi_app, raw, settings  # noqa: F401
