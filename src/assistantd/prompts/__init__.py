"""Prompts: assistants used as prompts of the Responses API (with versions), and ``pmpt_`` stored prompts
(``/v1/prompts``, our extension) for teams recreating the dashboard prompts OpenAI no longer serves."""
