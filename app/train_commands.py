"""``neurodeck pretrain`` and ``neurodeck evaluate``: the offline training commands."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from app.cli import EEGBCI_SHARED_SUBJECTS, write_json
from common.types import ConfigError

RECIPE_DIR = Path(__file__).resolve().parents[1] / "configs" / "pretrain"
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "models" / "pretrained"


def data_root(explicit: Path | None) -> Path:
    """The first existing data root (``--data``, ``$NEURODECK_DATA``, ``../shared/data``)."""
    from app.demo import candidate_roots

    root = next((r for r in candidate_roots(explicit) if r.is_dir()), None)
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
    from offline_training.pipeline import Recipe, run_recipe, save_stage

    if str(args.config) == "gmss":
        return _pretrain_gmss(args)

    recipe = Recipe.from_toml(find_recipe(args.config))
    root = data_root(args.data or (Path(recipe.data_root) if recipe.data_root else None))
    subjects = list(args.subjects or recipe.subjects or EEGBCI_SHARED_SUBJECTS)
    run_dir = args.run_dir / recipe.name
    out = args.out or PRETRAINED_DIR / f"{recipe.name}.safetensors"
    print(f"pretraining {recipe.name} ({recipe.architecture}) on {len(subjects)} subjects")
    print(f"data {root}; logs and curves in {run_dir}")
    t0 = time.perf_counter()
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


def _pretrain_gmss(args: argparse.Namespace) -> int:
    """``neurodeck pretrain gmss``: the affective encoder, self-supervised on EEGBCI."""
    from offline_training.affective import run_pretrain_gmss

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
    from models.checkpoint import load_checkpoint
    from offline_training.affective import evaluate_eegmat

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
    """Per stage under ``run_dir``: epochs, training seconds (all epochs, resumed runs
    included) and the last logged epoch, for the checkpoint's metrics."""
    out = {}
    for log in sorted(run_dir.rglob("metrics.jsonl")):
        records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        if records:
            out[str(log.parent.relative_to(run_dir))] = {
                "epochs": len(records),
                "seconds": round(sum(r.get("seconds", 0.0) for r in records), 1),
                "last": records[-1],
            }
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Online MI evaluation: classical references per subject, deep encoders by subject folds."""
    from offline_training.evaluation import evaluate

    if args.task == "eegmat":
        return _evaluate_eegmat(args)
    root = data_root(args.data)
    print(
        f"window / trial accuracy; calibration runs {args.calib_runs}, test runs "
        f"{args.test_runs}, data {root}"
    )
    result: dict[str, Any] = {}
    if args.models:
        result = evaluate(
            root, args.subjects, args.calib_runs, args.test_runs, args.models, _show(args.models)
        )
        print("mean  " + _cells(result["mean"], args.models))
    result["deep"] = {}
    for name in args.encoders:
        result["deep"][name] = _evaluate_encoder(args, root, name)
        write_json(args.json, result)
    if not args.encoders:
        write_json(args.json, result)
    return 0


def _evaluate_encoder(args: argparse.Namespace, root: Path, name: str) -> dict[str, Any]:
    from offline_training.deep_evaluation import check_modes, evaluate_deep
    from offline_training.pipeline import Recipe

    recipe = Recipe.from_toml(find_recipe(name))
    modes = check_modes(args.modes)
    print(f"\n{recipe.name}: {args.folds} subject folds, conditions {list(modes)}")
    shown = [*modes, "ts_lr"]
    result = evaluate_deep(
        root,
        args.subjects,
        recipe,
        n_folds=args.folds,
        modes=modes,
        device=args.device,
        out_dir=args.run_dir,
        progress=_show(shown),
        calib_runs=args.calib_runs,
        test_runs=args.test_runs,
    )
    print(f"mean  {_cells(result['mean'], shown)}")
    return result


def _cells(res: dict[str, Any], names: list[str]) -> str:
    return "  ".join(
        f"{m} {res[m]['window_acc']:.3f}/{res[m]['trial_acc']:.3f}" for m in names if m in res
    )


def _show(names: list[str]):
    def show(subject: int, res: dict[str, Any]) -> None:
        print(f"S{subject:03d}  {_cells(res, names)}", flush=True)

    return show
