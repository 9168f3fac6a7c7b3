import pytest


@pytest.fixture(autouse=True)
def _no_network(offline_hub):
    """Every test here runs with the Hub offline and an empty cache."""
    return offline_hub
