"""Words for the resolution report: plot captions, per-seed column help and the reproduce command line."""

from __future__ import annotations

import shlex

PLOT_CAPTIONS = {
    "behaviour": "Distribution of the per-seed behaviour scalar",
    "curves": "Training curves (loss and accuracy per seed)",
    "key_dis_ood": "Key plot: disagreement off-distribution between every pair of seeds",
    "key_clusters": "Key plot: behaviour in the test regime against the control, with the fitted mixture",
    "key_position_vs_alpha": "Key plot: where each nudged run ends, against the nudge size α",
    "spawn_barrier_vs_k": "Loss barrier between spawned children, against the spawn point",
    "key_auroc_vs_fraction": "Key plot: how well mid-training checkpoints predict the final behaviour",
    "key_behaviour_by_time": "Key plot: final behaviour by when the intervention happened",
    "key_cka_over_training": "Key plot: similarity (CKA) of each checkpoint to the final model",
    "key_predicted_vs_found": "Key plot: predicted against found solution, per task variant",
    "key_ratio_per_change": "Key plot: disagreement ratio for each small change, with CIs",
}

COLUMN_HELP = {
    "seed": "The training seed (initialisation and data order) of this model.",
    "behaviour": "The task's behaviour scalar for this seed (for digits: accuracy on the noisy OOD probe).",
    "id_acc": "Accuracy on the in-distribution test set.",
    "ood_acc": "Accuracy on the out-of-distribution probe (for digits: noisy test images).",
    "eval_acc": "Accuracy on the evaluation set.",
    "heldout_acc": "Accuracy on the held-out inputs.",
    "mean_cka": (
        "Mean linear CKA between this seed's representation and every other seed's (1 = same up to rotation)."
    ),
    "mean_dis_id": (
        "Mean fraction of in-distribution test inputs on which this seed and another seed disagree."
    ),
    "mean_dis_ood": "Mean fraction of OOD probe inputs on which this seed and another seed disagree.",
    "final_eval_loss": "Loss on the evaluation set at the end of training.",
    "final_train_loss": "Loss on the training set at the end of training.",
    "final_cluster": "The cluster this seed's final behaviour falls in.",
}


def plot_caption(stem: str) -> str:
    if stem in PLOT_CAPTIONS:
        return PLOT_CAPTIONS[stem]
    words = stem.removeprefix("key_").replace("_", " ")
    return f"Key plot: {words}" if stem.startswith("key_") else words.capitalize()


def column_help(name: str) -> str:
    return COLUMN_HELP.get(name, "")


def reproduce_command(*, spec: dict, seeds: list[int]) -> str:
    """The ``run_experiment`` call (DESIGN §4.3) that trains the same spec on the same seeds."""
    parts = ["python", "manage.py", "run_experiment", str(spec.get("concept", "")), str(spec.get("task", ""))]
    if spec.get("arch"):
        parts += ["--arch", str(spec["arch"])]
    if seeds:
        parts += ["--seeds", str(len(seeds)), "--seed-offset", str(min(seeds))]
    elif spec.get("seeds"):
        parts += ["--seeds", str(spec["seeds"])]
    if spec.get("preset"):
        parts += ["--preset", str(spec["preset"])]
    for key, value in sorted((spec.get("params") or {}).items()):
        parts += ["--set", f"{key}={value}"]
    parts += ["--json"]
    return " ".join(shlex.quote(p) for p in parts)
