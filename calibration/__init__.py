"""From cues to a person's decoders: paradigms, live recording, trials, fitting, profiles.

A paradigm (:mod:`.paradigm`) plays cues as LSL markers (:mod:`.cues`); EEG and markers are
recorded (:mod:`.live`); trials are cut at the markers (:mod:`.trials`); the candidate decoders
are fitted and cross-validated (:mod:`.candidates`, :mod:`.fitting`, :mod:`.calibrate`) and
written as a subject profile (:mod:`.profile`), which :mod:`.decoders` turns into what a live
session runs. Never imports Qt, :mod:`neurodeck.evaluation`, :mod:`neurodeck.control` or
:mod:`neurodeck.app`.
"""
