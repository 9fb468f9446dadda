"""Torch models: encoders, decoders and references, their registry and checkpoint format.

One architecture per file, registered by name (:mod:`.registry`) so that a checkpoint
(:mod:`.checkpoint`: safetensors weights and JSON metadata, never pickled) rebuilds it. Every
model maps microvolt windows ``(batch, channels, times)`` to logits (:mod:`.base`). Imports
:mod:`neurodeck.common` only: no LSL, no Qt.
"""
