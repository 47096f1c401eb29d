"""The JSON shapes of the API, declared once as pydantic models: app/serialize.py builds them
from the database and writes the responses with them, and app/api/spec.py makes the OpenAPI
document of them. One module per resource; base.py holds the shared value types."""
