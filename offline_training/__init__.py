"""Training networks offline: corpora, windows, augmentations, objectives, the trainer, recipes.

Recordings become cached corpora preprocessed by the live chain (:mod:`.corpus`), cut into lazy
windows (:mod:`.windows`), and train under one :class:`~.trainer.Trainer` with a self-supervised
or supervised objective (:mod:`.objectives`); a TOML recipe (:mod:`.pipeline`) says everything
about a shipped network. Never imports Qt or the floors above it (calibration and up).
"""
