"""The external contract: OpenAI request models (pydantic) and response types (``openai.types``).

Imports only pydantic and openai; never fastapi, sqlalchemy or our services.
"""
