"""After start-up the objects it made (modules, routes, mappers) are frozen out of the
garbage collector's reach: a full collection walks only what requests made since, instead
of ~250,000 objects (130-160 ms with the GIL held, every few seconds under load)."""

from __future__ import annotations

import gc


def test_a_full_collection_no_longer_walks_the_start_up_heap(client):
    assert client.get("/livez").status_code == 200  # the app started (its lifespan ran)
    # Frozen at the first start-up of this process (the server's only one; in the test
    # process, whichever test started an app first).
    assert gc.get_freeze_count() > 50_000
