"""Use cases, one module per OpenAI resource. They raise ``ApiError`` and return wire JSON.

Every ``to_wire`` returns the JSON object of the ``openai.types`` class named in its docstring; building
dicts directly (rather than validating into the SDK's pydantic classes) keeps large list pages cheap, and
the test suite checks each shape through the official client and OpenAI's OpenAPI schemas.
"""
