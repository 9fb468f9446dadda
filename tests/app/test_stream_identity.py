"""Stream identity in the commands: any name works, an ambiguous name is refused with the
candidates and a way to choose, and ``decode`` warns when its output name is taken."""

from __future__ import annotations

import argparse
import threading

import pylsl
import pytest
from neurodeck.app.cli import main
from neurodeck.app.record_commands import add_parsers
from neurodeck.common.types import AmbiguousStreamError
from neurodeck.streaming.lsl_io import make_stream_info
from neurodeck.streaming.recorded_session import load_session

from tests.app.affective import save_affective_checkpoint
from tests.lsl_helpers import IndexedOutlet

pytestmark = pytest.mark.lsl


def _record(*argv: str) -> int:
    ap = argparse.ArgumentParser(prog="neurodeck")
    add_parsers(ap.add_subparsers(dest="command", required=True))
    args = ap.parse_args(["record", *argv])
    return args.handler(args)


def _markers(name: str, source_id: str) -> pylsl.StreamOutlet:
    info = make_stream_info(
        name, "Markers", ["marker"], pylsl.IRREGULAR_RATE, source_id, "string", unit=""
    )
    return pylsl.StreamOutlet(info)


def test_record_takes_a_name_with_quotes_and_its_markers(tmp_path, unique_id, capsys) -> None:
    """An apostrophe and double quotes in the name (and in ``<name>-markers``) crashed before."""
    name = f"""{unique_id} it's the "lab" amp"""
    eeg = IndexedOutlet(name, 3, 250.0, 100_000, source_id=unique_id).start()
    markers = _markers(f"{name}-markers", f"{unique_id}-markers")
    try:
        code = _record("--stream", name, "--out", str(tmp_path / "s"), "--duration", "1")
    finally:
        eeg.close()
        del markers
    out = capsys.readouterr().out
    assert code == 0
    assert repr(f"{name}-markers") in out  # recorded with its markers
    session = load_session(tmp_path / "s")
    assert session.meta.name == name and session.n_samples > 0


def test_decode_refuses_an_ambiguous_name_and_lists_the_candidates(
    tmp_path, unique_id, capsys
) -> None:
    checkpoint = save_affective_checkpoint(tmp_path / "emotion.safetensors")
    one = IndexedOutlet(unique_id, 3, 250.0, 10, source_id=f"{unique_id}-a")
    two = IndexedOutlet(unique_id, 16, 160.0, 10, source_id=f"{unique_id}-b")
    try:
        code = main(["decode", "--stream", unique_id, "--model", str(checkpoint),
                     "--timeout", "5", "--device", "cpu"])  # fmt: skip
    finally:
        one.close()
        two.close()
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"neurodeck decode: error: 2 LSL streams match name='{unique_id}'" in err
    assert f"'{unique_id}' (EEG, 3 ch at 250 Hz) on host " in err
    assert f"'{unique_id}' (EEG, 16 ch at 160 Hz) on host " in err
    assert f"source_id '{unique_id}-a'" in err and f"source_id '{unique_id}-b'" in err
    assert "what to do: Choose one by its source_id: neurodeck decode --by-id --stream" in err


def test_record_refuses_an_ambiguous_name_and_records_the_one_chosen_by_id(
    tmp_path, unique_id, capsys
) -> None:
    one = IndexedOutlet(unique_id, 3, 250.0, 100_000, source_id=f"{unique_id}-a").start()
    two = IndexedOutlet(unique_id, 4, 250.0, 100_000, source_id=f"{unique_id}-b").start()
    # both publish '<name>-markers': the one paired with the chosen stream is taken
    markers_a = _markers(f"{unique_id}-markers", f"{unique_id}-a-markers")
    markers_b = _markers(f"{unique_id}-markers", f"{unique_id}-b-markers")
    try:
        with pytest.raises(AmbiguousStreamError) as err:
            _record("--stream", unique_id, "--out", str(tmp_path / "s"), "--timeout", "5")
        assert "neurodeck record --by-id --stream SOURCE_ID" in err.value.hint
        assert len(err.value.candidates) == 2
        folder = tmp_path / "chosen"
        code = _record(
            "--stream", f"{unique_id}-b", "--by-id", "--out", str(folder), "--duration", "1"
        )
    finally:
        one.close()
        two.close()
        del markers_a, markers_b
    assert code == 0
    session = load_session(folder)
    assert session.meta.source_id == f"{unique_id}-b" and session.meta.n_channels == 4
    assert f"'{unique_id}-markers'" in capsys.readouterr().out


def test_calibrate_refuses_an_ambiguous_name_and_by_id_needs_a_stream(
    tmp_path, unique_id, capsys
) -> None:
    one = IndexedOutlet(unique_id, 3, 250.0, 10, source_id=f"{unique_id}-a")
    two = IndexedOutlet(unique_id, 3, 250.0, 10, source_id=f"{unique_id}-b")
    try:
        code = main(["calibrate", "--stream", unique_id, "--out", str(tmp_path / "p"),
                     "--timeout", "5"])  # fmt: skip
    finally:
        one.close()
        two.close()
    err = capsys.readouterr().err
    assert code == 2 and "2 LSL streams match" in err
    assert "neurodeck calibrate --by-id --stream SOURCE_ID" in err
    code = main(["calibrate", "--recording", "x.edf", "--by-id", "--out", str(tmp_path / "q")])
    assert code == 2 and "'--by-id' needs '--stream'" in capsys.readouterr().err


def test_decode_warns_when_its_output_name_is_taken(tmp_path, unique_id, capsys) -> None:
    from neurodeck.streaming.simulator import SimulationConfig, Simulator

    checkpoint = save_affective_checkpoint(tmp_path / "emotion.safetensors")
    taken = f"{unique_id}-pred"
    other = pylsl.StreamOutlet(
        make_stream_info(taken, "Predictions", ["a", "b"], 0.0, f"{unique_id}-someone-else")
    )
    sim = Simulator(
        SimulationConfig(n_channels=16, sfreq=160.0), name=unique_id, speed=2.0, source_id=unique_id
    )
    publisher = threading.Thread(target=sim.run_blocking, daemon=True)
    publisher.start()
    try:
        code = main(["decode", "--stream", unique_id, "--by-id", "--model", str(checkpoint),
                     "--outlet", taken, "--duration", "1", "--device", "cpu"])  # fmt: skip
    finally:
        sim.stop()
        publisher.join(5)
        sim.close()
        del other
    err = capsys.readouterr().err
    assert code == 0
    assert (
        f"neurodeck decode: warning: another LSL stream named '{taken}' is already published (host "
    ) in err
    assert f"source_id '{unique_id}-someone-else'" in err
    assert "consumers that look the predictions up by name may read the wrong one" in err
    assert "--outlet NAME" in err
