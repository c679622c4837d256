"""The web console and playground at ``/console``: a single-page app of plain ES modules (``static/``) that
calls the server's own ``/v1`` API with a project key, plus the few console-only JSON routes the API lacks
(a thread search, a thread's runs and responses, the key's own project's usage)."""
