"""The Administration API's projects, service accounts and project API keys, and who a bearer key is."""
