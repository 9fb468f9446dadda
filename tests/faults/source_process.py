"""A headset in its own process for the fault tests: channel 0 carries the sample index.

``python -m tests.faults.source_process NAME START N RATE`` publishes ``N`` samples (indices
``START`` on) at ``RATE`` Hz as stream ``NAME`` (source_id ``NAME``), starting 1.5 s after its
first consumer connected (so that every consumer looking for it, a recorder and a decoder, is
connected: LSL sends a new consumer nothing from before it connected), then lingers until
killed. Its timestamps are the sample times, so after SIGSTOP/SIGCONT the backlog goes out with
them.
"""

from __future__ import annotations

import sys
import time

from neurodeck.streaming.lsl_env import use_machine_scope

use_machine_scope(force=True)

from tests.lsl_helpers import IndexedOutlet  # noqa: E402


def main() -> None:
    name, start, n, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    outlet = IndexedOutlet(name, 4, rate, n, chunk_n=8, start_index=start)
    outlet.outlet.wait_for_consumers(60.0)
    time.sleep(1.5)
    outlet.start()
    print("publishing", flush=True)
    while True:
        time.sleep(1.0)


if __name__ == "__main__":
    main()
