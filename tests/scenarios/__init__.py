"""Shared scenarios: the known instants, rules and setups several test files use.

``room``: the EHPAD meeting room, booked by free intervals. ``garden``: the EHPAD garden opened Tuesdays and Saturdays of spring 2027, seen from
15 March 2027. ``relais``: the CHRS Le Relais canteen (its ``clock`` and ``relais``
fixtures are registered for every test through ``pytest_plugins`` in tests/conftest.py).
"""
