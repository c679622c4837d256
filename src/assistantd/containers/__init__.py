"""OpenAI's Containers API (``/v1/containers``, container files) over the code_interpreter sandbox pool."""
