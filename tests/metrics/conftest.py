"""The end-to-end fixtures (fake image API, settings pointing at it) for the metrics tests."""

from tests.e2e.conftest import image_api, settings_for  # noqa: F401
