"""Make the simulator fixtures available here even before tests/conftest.py registers them."""

from fixtures.simulator import (  # noqa: F401
    ccxt_for,
    make_simulator,
    sim_config,
    simulator,
)
