"""``neurodeck pretrain`` and ``neurodeck evaluate``: the offline training commands."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from neurodeck.common.jsonio import write_json
from neurodeck.common.paths import EEGBCI_SHARED_SUBJECTS, PRETRAINED_DIR
from neurodeck.common.types import ConfigError

RECIPE_DIR = Path(__file__).resolve().parents[1] / "configs" / "pretrain"


def data_root(explicit: Path | None) -> Path:
    """The first existing data root (``--data``, ``$NEURODECK_DATA``, ``../shared/data``)."""
    from neurodeck.common.paths import data_roots

    root = next((r for r in data_roots(explicit) if r.is_dir()), None)
    if root is None:
        raise ConfigError("No data root found.", "Pass --data DIR or set NEURODECK_DATA.")
    return root


def find_recipe(name_or_path: str | Path) -> Path:
    """A recipe file from a name in ``configs/pretrain`` or a path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"recipe file {path} does not exist.")
        return path
    candidate = RECIPE_DIR / f"{name_or_path}.toml"
    if not candidate.is_file():
        known = sorted(p.stem for p in RECIPE_DIR.glob("*.toml"))
        raise ConfigError(
            f"no recipe named {str(name_or_path)!r}; known recipes: {known}.",
            f"Pass a recipe name from {RECIPE_DIR} or the path of a TOML file.",
        )
    return candidate


def cmd_pretrain(args: argparse.Namespace) -> int:
    """Run a recipe on all its subjects and write the checkpoint it describes."""
    from neurodeck.offline_training.pipeline import Recipe, run_recipe, save_stage

    if str(args.recipe) == "gmss":
        return _pretrain_gmss(args)

    recipe = Recipe.from_toml(find_recipe(args.recipe))
    root = data_root(args.data or (Path(recipe.data_root) if recipe.data_root else None))
    subjects = list(args.subjects or recipe.subjects or EEGBCI_SHARED_SUBJECTS)
    run_dir = args.run_dir / recipe.name
    out = args.out or PRETRAINED_DIR / f"{recipe.name}.safetensors"
    print(f"pretraining {recipe.name} ({recipe.architecture}) on {len(subjects)} subjects")
    print(f"data {root}; logs and curves in {run_dir}")
    t0 = time.perf_counter()
    if recipe.supervised is not None:
        return _pretrain_supervised(args, recipe, root, subjects, run_dir, out, t0)
    models = run_recipe(
        recipe,
        root,
        subjects,
        run_dir,
        stages=("ssl", "supervised"),
        resume=not args.restart,
        device=args.device,
    )
    seconds = round(time.perf_counter() - t0, 1)
    final = "supervised" if "supervised" in models else "ssl"
    classes = recipe.supervised.class_names if recipe.supervised else ("left", "right")
    stages = _histories(run_dir)
    train_s = round(sum(v["seconds"] for v in stages.values()), 1)
    metrics = {"train_seconds": train_s, "stages": stages}
    path = save_stage(models[final], recipe, out, final, classes, subjects, metrics)
    n_params = sum(p.numel() for p in models[final].parameters())
    size_mb = path.stat().st_size / 2**20
    print(
        f"wrote {path} ({n_params} parameters, {size_mb:.1f} MB); {train_s:.0f} s of training "
        f"in all, {seconds:.0f} s in this run"
    )
    write_json(args.json, {"checkpoint": str(path), "seconds": seconds, **metrics})
    return 0


def _pretrain_supervised(
    args: argparse.Namespace,
    recipe: Any,
    root: Path,
    subjects: list[int],
    run_dir: Path,
    out: Path,
    t0: float,
) -> int:
    """A recipe with a cross-subject stage: trained (or reused) and copied to ``out``."""
    import shutil

    from neurodeck.offline_training.pipeline import cross_subject_model

    model, trained = cross_subject_model(
        recipe, root, subjects, run_dir, args.device, resume=not args.restart
    )
    seconds = round(time.perf_counter() - t0, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    if trained.resolve() != out.resolve():
        shutil.copyfile(trained, out)
    stages = _histories(run_dir)
    train_s = round(sum(v["seconds"] for v in stages.values()), 1)
    n_params = sum(p.numel() for p in model.parameters())
    size_mb = out.stat().st_size / 2**20
    print(
        f"wrote {out} ({n_params} parameters, {size_mb:.1f} MB), trained on subjects "
        f"{subjects}; {train_s:.0f} s of training in all, {seconds:.0f} s in this run"
    )
    write_json(args.json, {"checkpoint": str(out), "seconds": seconds, "stages": stages})
    return 0


def _pretrain_gmss(args: argparse.Namespace) -> int:
    """``neurodeck pretrain gmss``: the affective encoder, self-supervised on EEGBCI."""
    from neurodeck.offline_training.affective import run_pretrain_gmss

    root = data_root(args.data)
    subjects = list(args.subjects or EEGBCI_SHARED_SUBJECTS)
    out = args.out or PRETRAINED_DIR / "gmss.safetensors"
    print(f"pretraining gmss (self-supervised) on EEGBCI, {len(subjects)} subjects; data {root}")
    path, info = run_pretrain_gmss(
        root, subjects, out, args.run_dir / "gmss", args.run_dir / "cache", args.device or "auto"
    )
    print(
        f"wrote {path}: {info['n_windows']} windows, {info['seconds']:.0f} s; last epoch "
        f"{info['last_epoch']}"
    )
    write_json(args.json, {"checkpoint": str(path), **info})
    return 0


def _evaluate_eegmat(args: argparse.Namespace) -> int:
    """``neurodeck evaluate --task eegmat``: rest vs mental arithmetic, both protocols."""
    from neurodeck.models.checkpoint import load_checkpoint
    from neurodeck.offline_training.affective import evaluate_eegmat

    root = data_root(args.data)
    pretrained = None
    path = args.pretrained or PRETRAINED_DIR / "gmss.safetensors"
    if path.is_file():
        pretrained, _ = load_checkpoint(path)
    else:
        print(f"no pretrained GMSS at {path} (neurodeck pretrain gmss); evaluating without it")
    result = evaluate_eegmat(root, args.run_dir / "cache", pretrained, progress=print)
    for protocol in ("cross_subject", "within_subject"):
        print(f"\n{protocol}: {result[protocol]['split']}")
        for name, r in result[protocol]["methods"].items():
            print(f"  {name:16s} {r['mean']:.3f} +- {r['std']:.3f}")
    write_json(args.json, {"pretrained": str(path) if pretrained else None, **result})
    return 0


def _histories(run_dir: Path) -> dict[str, Any]:
    from neurodeck.offline_training.pipeline import stage_histories

    return stage_histories(run_dir)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Online MI evaluation: classical references per subject, networks through calibration."""
    from neurodeck.common.montages import montage
    from neurodeck.evaluation.classical import evaluate

    if args.task == "eegmat":
        return _evaluate_eegmat(args)
    root = data_root(args.data)
    print(
        f"window / trial accuracy; calibration runs {args.calib_runs}, test runs "
        f"{args.test_runs}, data {root}"
    )
    recipes = [_recipe(name) for name in args.encoders]  # unknown names fail before any work
    montages: list[tuple[str, Any]] = [("all", None)]
    montages += [(name, montage(name)) for name in args.channels or ()]
    result: dict[str, Any] = {"montages": {}}
    for label, channels in montages:
        part: dict[str, Any] = {"channels": list(channels) if channels else "all"}
        result["montages"][label] = part
        print(f"\n== channels: {label}" + (f" ({', '.join(channels)})" if channels else ""))
        if args.models:
            show = _show(args.models)
            part["classical"] = evaluate(
                root, args.subjects, args.calib_runs, args.test_runs, args.models, show, channels
            )
            print("mean  " + _cells(part["classical"]["mean"], args.models))
        part["calibrated"] = {}
        for recipe in recipes:
            part["calibrated"][recipe.name] = _evaluate_encoder(args, root, recipe, channels)
            write_json(args.json, result)
    write_json(args.json, result)
    return 0


def _recipe(name: str) -> Any:
    from neurodeck.offline_training.pipeline import Recipe

    return Recipe.from_toml(find_recipe(name))


def _evaluate_encoder(
    args: argparse.Namespace, root: Path, recipe: Any, channels: Any
) -> dict[str, Any]:
    from neurodeck.calibration.defaults import calibration_settings
    from neurodeck.evaluation.calibrated import evaluate_calibrated

    settings = calibration_settings(args.cv_folds, None, chooser=args.choose)
    print(
        f"\n{recipe.name}: {args.folds} subject folds; each held-out subject calibrated as "
        f"neurodeck calibrate does (decoder choice: {settings.chooser})"
    )
    shown = ["chosen", "zeroshot", "finetuned", "reference"]

    def show(subject: int, res: dict[str, Any]) -> None:
        cells = {"chosen": res["chosen"], **res["candidates"]}
        print(f"S{subject:03d}  {_cells(cells, shown)}  -> {res['decoder']}", flush=True)

    result = evaluate_calibrated(
        root,
        args.subjects,
        recipe,
        settings,
        n_folds=args.folds,
        run_dir=args.run_dir,
        channels=channels,
        device=args.device,
        progress=show,
        calib_runs=args.calib_runs,
        test_runs=args.test_runs,
        drift_tau_s=args.drift,
    )
    mean = result["mean"]
    print(f"mean  {_cells(mean, list(mean))}")
    chosen = mean["chosen"]
    if "vs_reference" in chosen:
        v = chosen["vs_reference"]
        print(
            f"chosen vs reference (window): {v['mean_diff']:+.3f}, better on {v['better']} of "
            f"{v['n']} subjects, Wilcoxon p = {v['wilcoxon_p']:.3g}"
        )
    return result


def _cells(res: dict[str, Any], names: list[str]) -> str:
    return "  ".join(
        f"{m} {res[m]['window_acc']:.3f}/{res[m]['trial_acc']:.3f}" for m in names if m in res
    )


def _show(names: list[str]):
    def show(subject: int, res: dict[str, Any]) -> None:
        print(f"S{subject:03d}  {_cells(res, names)}", flush=True)

    return show
