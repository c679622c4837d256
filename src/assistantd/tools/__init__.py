"""Server-side tools (``file_search``, ``code_interpreter``) behind one ``Tool`` protocol."""
