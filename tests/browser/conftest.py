"""The browser tests share the Prefect test server of tests/prefect (started once, when a test asks for it)."""

from tests.prefect.conftest import prefect_server  # noqa: F401 - a fixture, used by name
