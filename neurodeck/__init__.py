"""neurodeck: real-time EEG brain-computer interfaces.

One import name, whose subpackages live in the repository's top-level folders (mapped in
``pyproject.toml``), from the lowest floor up:

- :mod:`neurodeck.common`: value types, errors, montages, small checks, JSON files;
- :mod:`neurodeck.models`: encoders, decoders, checkpoints (torch, no LSL);
- :mod:`neurodeck.streaming`: LSL I/O, ring buffer, preprocessing, inference thread, sinks;
- :mod:`neurodeck.offline_training`: corpora, self-supervised and supervised training;
- :mod:`neurodeck.calibration`: cues, trials, fitting a person's profile, emotion induction;
- :mod:`neurodeck.control`: the headless application core the dashboard drives (no Qt);
- :mod:`neurodeck.app`: the command line and the Qt dashboard.

``docs/architecture.md`` says what each may import.
"""

__version__ = "0.1.0"
