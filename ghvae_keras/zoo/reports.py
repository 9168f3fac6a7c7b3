"""The blocks of a preset's metadata.json that measurements write, defined
once: the tools build them with these functions and the cards read them.

- `training`: how the weights were trained (`tools/train_zoo.py`, `ghvae train`).
- `metrics.<name>`: an evaluation (`evaluation.evaluate`), one block per
  data it ran on: `stand_in_test` for the simulated stand-in's test split.
- `planning`: the planning benchmark (`tools/bench_planning.py`).
"""

import re

import numpy as np

STAND_IN_TEST = "stand_in_test"
BLOCK_TITLES = {STAND_IN_TEST: "Simulated stand-in, test split", "test": "Test split"}
COPY_LAST_FRAME = "copy_last_frame"
END_TO_END = "end_to_end"


def modules_label(k):
    """`1` -> "1 module", `"4"` -> "4 modules"."""
    return f"{k} module{'s' if int(k) != 1 else ''}"


# -- training -----------------------------------------------------------------


def greedy_phases(seconds):
    """The greedy stages recorded in a `training.seconds` table, in order."""
    return sorted((name for name in seconds if name.startswith("stage_")), key=lambda n: int(n[6:]))


def training_block(*, dataset, command, steps_per_stage, batch_size, status="complete",
                   stages_trained=None, **details):
    """The `training` block: the data, the command that repeats the run, the
    recipe, and `status` ("complete", or "in progress" with
    `stages_trained` of a greedy run committed stage by stage). `details`
    adds the rest a trainer records (`sequence_length`, `seconds` per phase
    with `cpu`, `wall`, `steps`, `device`, ...)."""
    if status not in ("complete", "in progress"):
        raise ValueError(f"status must be 'complete' or 'in progress', got {status!r}")
    return {"status": status, "stages_trained": stages_trained, "dataset": dataset,
            "command": command, "steps_per_stage": steps_per_stage, "batch_size": batch_size,
            **details}


def in_progress(training):
    """Whether a `training` block records a greedy run still under way."""
    return (training or {}).get("status") == "in progress"


def training_summary(training):
    """One sentence on how long training took, from a `training` block
    (empty when it records no times)."""
    seconds = training.get("seconds")
    if not seconds:
        return ""
    stages = greedy_phases(seconds)
    cpu = sum(seconds[name]["cpu"] for name in stages)
    wall = sum(seconds[name]["wall"] for name in stages)
    device = training.get("device") or {}
    steps = training["steps_per_stage"]
    steps = (f"{steps:,} steps per module" if isinstance(steps, int) else
             f"{', '.join(f'{count:,}' for count in steps[:-1])} and {steps[-1]:,} steps for modules "
             f"1 to {len(steps)}")
    text = (f"Greedy training ran {steps} at batch "
            f"{training['batch_size']} of {training['sequence_length']}-frame clips: "
            f"{cpu / 60:,.0f} CPU minutes ({wall / 60:,.0f} minutes of wall-clock time)")
    if device:
        threads = device.get("intra_op_threads")
        where = device.get("device") or ", ".join(device.get("devices", []))
        text += (f" on {where} ({device['backend']}"
                 + (f", {threads} TensorFlow thread{'s' if threads != 1 else ''}" if threads else "") + ")")
    if ((training.get("plan") or {}).get("set") or {}).get("feed_predictions"):
        text += (", each frame predicted from the model's own previous prediction, as in a "
                 "rollout (`feed_predictions`)")
    if END_TO_END in seconds:
        e2e = seconds[END_TO_END]
        if in_progress(training):
            planned = (training.get("end_to_end_run") or {}).get("end_to_end_steps")
            return text + (f". The end-to-end baseline has run {e2e['steps']:,}"
                           + (f" of its {planned:,}" if planned else "")
                           + f" steps so far ({e2e['cpu'] / 60:,.0f} CPU minutes).")
        text += (f". The end-to-end baseline ran {e2e['steps']:,} steps in the same compute "
                 f"({e2e['cpu'] / 60:,.0f} CPU minutes)")
        priced = training.get("priced_on")
        if priced:
            text += (f", the steps of both priced on one processor ({priced['processor']}): "
                     f"greedy {priced['greedy'] / 60:,.0f} CPU minutes, end to end "
                     f"{priced['end_to_end'] / 60:,.0f}")
    return text + "."


# -- metrics ------------------------------------------------------------------


def metrics_block(result, command=None):
    """An `evaluation.evaluate` result as a preset keeps it under
    `metrics.<name>`: `modules` {"1": {psnr, ssim, fvd, psnr_per_frame}, ...},
    `copy_last_frame`, one entry per other model (e.g. `end_to_end`), and
    `samples`, `fvd_samples`, `videos`, `context`, `horizon`, `dataset`,
    `split`, `command`."""
    def figures(entry):
        return {**{metric: entry[metric] for metric in ("psnr", "ssim", "fvd")},
                "psnr_per_frame": [round(value, 3) for value in entry["psnr_per_frame"]]}

    entries = result["metrics"]
    return {
        "modules": {str(entry["num_modules"]): figures(entry) for entry in entries},
        COPY_LAST_FRAME: figures(entries[0][COPY_LAST_FRAME]),
        **{name: figures(entry) for name, entry in result.get("others", {}).items()},
        **{key: result.get(key) for key in ("samples", "fvd_samples", "videos", "context",
                                             "horizon", "dataset", "split")},
        "command": command or entries[0].get("command"),
    }


def copies_last_frame(figures, block):
    """Whether `figures` (a model's entry in a metrics `block`) are copying
    the last context frame's, PSNR, SSIM and FVD alike: a model whose
    prediction is that frame, pixel for pixel (a training run that died,
    e.g. with the pixel decoder's blend saturated on the skip frame)."""
    floor = block[COPY_LAST_FRAME]
    shared = [metric for metric in ("psnr", "ssim", "fvd")
              if figures.get(metric) is not None and floor.get(metric) is not None]
    return bool(shared) and all(np.isclose(figures[metric], floor[metric], rtol=1e-9, atol=0.0)
                                for metric in shared)


def plotted_block(metadata):
    """The name of the metrics block a card plots: the stand-in's, else the first."""
    blocks = metadata.get("metrics") or {}
    return STAND_IN_TEST if STAND_IN_TEST in blocks else next(iter(blocks), None)


# -- planning -----------------------------------------------------------------

_MODULES_METHOD = re.compile(r"^(\d+)_modules?$")
_PLANNING_LABELS = {"random": "random actions",
                    "scripted": "scripted policy that reads the positions (reference)",
                    "perfect_model": "the planner with the simulator as its model (reference)"}


def modules_method(k):
    """The planning method that plans with the first k modules: `4_modules`, `1_module`."""
    return f"{k}_module{'s' if k != 1 else ''}"


def planning_modules(method):
    """The module count a planning method plans with, or None (not a model)."""
    match = _MODULES_METHOD.match(method)
    return int(match[1]) if match else None


def planning_label(method, num_modules=None):
    """A planning method's row label; a module count below the preset's is
    marked as a truncation."""
    k = planning_modules(method)
    if k is not None:
        truncated = " (truncated)" if num_modules and k < num_modules else ""
        return f"GHVAE, {modules_label(k)}{truncated}"
    return _PLANNING_LABELS.get(method, method)


def planning_block(results, action_response, settings, command):
    """The `planning` block of one run of the benchmark, from the episodes
    each method ran in each tier (`{tier: {method: [{"success", "seconds",
    "distance", "start_distance", "seed"}, ...]}}`; a planner's episodes
    also give `seconds_per_plan`).

    Each tier holds its step budget and one row per method: its episodes,
    success rate, mean distances, seconds, the planner's settings (for a
    planner) and the command. `merge_planning` adds a later run's rows to
    a stored block, so tiers and methods can be measured one at a time.
    """
    planner_keys = ("cost", "goal_hand", "candidates", "iterations", "horizon", "replan_every")
    tiers = {}
    for tier, by_method in results.items():
        rows = {}
        for method, episodes in by_method.items():
            def mean(key, decimals):
                values = [e[key] for e in episodes if e.get(key) is not None]
                return round(float(np.mean(values)), decimals) if values else None

            row = {
                "episodes": len(episodes),
                "seeds": [episodes[0]["seed"], episodes[-1]["seed"]],
                "success": mean("success", 4),
                "final_distance_m": mean("distance", 4),
                "start_distance_m": mean("start_distance", 4),
                "seconds_per_episode": mean("seconds", 2),
            }
            seconds_per_plan = mean("seconds_per_plan", 3)
            if seconds_per_plan is not None:  # a planner
                row.update(seconds_per_plan=seconds_per_plan,
                           planner={key: settings[key] for key in planner_keys})
            row["command"] = command
            rows[method] = row
        tiers[tier] = {"max_steps": settings["max_steps"][tier],
                       "action_bounds": settings["action_bounds"][tier], "rows": rows}
    response = {method: {**figures, "command": command} for method, figures in action_response.items()}
    block = {"tiers": tiers, "action_response": response,
             "calibration": settings["calibration"], "preset": settings["preset"]}
    return _with_calibration(block)


def is_planning_block(block):
    """Whether `block` is a `planning` block (`planning_block`: tiers with
    rows per method, none for a probe-only run, and the action response),
    not None or one of an older layout."""
    tiers = (block or {}).get("tiers")
    return (isinstance(tiers, dict) and "action_response" in block
            and all("rows" in entry for entry in tiers.values()))


def merge_planning(stored, new):
    """`stored` (a `planning` block, or None) with the rows of `new` added:
    a method's row in a tier is replaced, a tier whose step budget changed
    is replaced whole, the rest is kept."""
    if not is_planning_block(stored):
        return new
    merged = {**stored, "tiers": dict(stored["tiers"]),
              "action_response": {**stored.get("action_response", {}), **new["action_response"]},
              "calibration": new["calibration"]}
    for tier, entry in new["tiers"].items():
        old = merged["tiers"].get(tier)
        if old is None or (old["max_steps"], old.get("action_bounds")) != (entry["max_steps"],
                                                                          entry["action_bounds"]):
            merged["tiers"][tier] = entry
        else:
            merged["tiers"][tier] = {**old, "rows": {**old["rows"], **entry["rows"]}}
    return _with_calibration(merged)


def _with_calibration(block):
    """Marks each tier with both reference rows `calibrated`: the scripted
    policy succeeds at least as often as `block["calibration"]["scripted"]`
    and random actions at most as often as `["random"]`."""
    bounds = block["calibration"]
    for entry in block["tiers"].values():
        rows = entry["rows"]
        entry.pop("calibrated", None)
        if set(bounds) <= set(rows):
            entry["calibrated"] = bool(rows["scripted"]["success"] >= bounds["scripted"]
                                       and rows["random"]["success"] <= bounds["random"])
    return block