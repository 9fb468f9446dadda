"""Leave-subjects-out evaluations: the classical reference and calibrated deep decoders.

They sit above :mod:`neurodeck.calibration` because they run its fitting on held-out people, and
above :mod:`neurodeck.offline_training` because they train the fold networks.
"""
