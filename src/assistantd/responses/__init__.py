"""The Responses API: request models (``protocol``), renderers of neutral items and events (``render``)."""
