"""Demo fallback without data: calibrate on and decode neurodeck's synthetic headset."""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

from neurodeck.app.replay_loop import decode_replay
from neurodeck.common.jsonio import write_json
from neurodeck.control.children import simulate_args, spawn

SIM_CHANNELS = 32
CALIBRATION_S = 150.0
LIVE_S = 120.0


def _synthetic_recording(seconds: float, seed: int):
    from neurodeck.streaming.recording_io import Recording
    from neurodeck.streaming.simulator import SimulationConfig, SyntheticEEG

    gen = SyntheticEEG(SimulationConfig(n_channels=SIM_CHANNELS, seed=seed))
    block = gen.generate(int(seconds * gen.config.sfreq))
    sfreq = gen.config.sfreq
    annotations = tuple((idx / sfreq, 0.0, label) for idx, label in block.markers)
    return Recording(
        block.data, sfreq, gen.channel_names, annotations, Path(f"<simulator seed {seed}>")
    )


def run_simulated_demo(args: argparse.Namespace, out: Path) -> int:
    """Calibrate on simulated trials, then decode a live simulated headset."""
    from neurodeck.calibration.offline import fit_reference_recordings
    from neurodeck.models.checkpoint import save_checkpoint

    classes = {"left": "left", "right": "right"}
    model, meta = fit_reference_recordings([_synthetic_recording(CALIBRATION_S, 1)], classes)
    path = save_checkpoint(out / "demo-simulated-reference.safetensors", model, meta)
    print(
        f"calibrated on {meta.training['n_trials']} simulated trials "
        f"(cross-validated accuracy {meta.metrics['cv_accuracy']:.2f}) -> {path}"
    )
    name = f"neurodeck-demo-sim-{uuid.uuid4().hex[:6]}"
    args_ = simulate_args(
        name=name, channels=SIM_CHANNELS, speed=args.speed, duration_s=LIVE_S, seed=7
    )
    child = spawn(args_, log=out / "simulator.log")
    print(f"simulated headset '{name}' at x{args.speed:g}; decoding live:")
    origin = "built-in simulator (synthetic EEG)"
    summary = decode_replay(args, path, name, child, out, origin, n_samples=None)
    write_json(args.json, {"data": origin, **summary})
    return 0
