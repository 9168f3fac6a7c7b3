"""Model cards: a preset's README.md and the zoo's MODEL_CARD.md, rendered
from metadata (see `reports` for the blocks they show), and the card's plot.

Rendering reads nothing but the metadata it is given; `folder.write_card`
writes the result into a preset folder.
"""

import numpy as np

from ghvae_keras.zoo import reports
from ghvae_keras.zoo.reports import modules_label

# The card's pictures, files of the preset folder.
PREVIEW_FILE = "prediction.gif"
PLOT_FILE = "psnr_per_frame.svg"
_CARD_TAGS = ("video-prediction", "ghvae", "keras")


def card_data(metadata):
    """The card's YAML front matter as `huggingface_hub.ModelCardData`."""
    from huggingface_hub import EvalResult, ModelCardData

    trained_on = (metadata.get("training") or {}).get("dataset")
    results = []
    for block in (metadata.get("metrics") or {}).values():
        for k, figures in block["modules"].items():
            for metric in ("fvd", "psnr", "ssim"):
                if figures.get(metric) is not None:
                    results.append(EvalResult(
                        task_type="video-prediction",
                        dataset_type=block["dataset"], dataset_name=block["dataset"],
                        dataset_split=block.get("split"), metric_type=metric,
                        metric_name=f"{metric.upper()} ({k} module{'s' if k != '1' else ''}, "
                                    f"{block['context']}→{block['horizon']}, best of {block['samples']})",
                        metric_value=figures[metric],
                    ))
    return ModelCardData(
        library_name="keras",
        license=metadata.get("license", "apache-2.0"),
        tags=list(_CARD_TAGS),
        datasets=[trained_on] if trained_on else None,
        model_name=metadata["name"],
        eval_results=results or None,
    )


def render_card(metadata, preview=False):
    """A preset's model card (README.md) from its metadata; with `preview`,
    it shows the folder's prediction GIF."""
    name = metadata["name"]
    hub = metadata.get("hub") or {}
    data = metadata.get("data") or {}
    training = metadata.get("training")
    protocol = metadata.get("protocol") or {}
    size = metadata.get("image_size", "?")
    protocol_text = (
        f"{protocol['context']} context frames → {protocol['train_future']} predicted in training, "
        f"{protocol['eval_future']} in evaluation" if protocol else "protocol not recorded"
    )
    lines = [f"# {name}", "", metadata["description"], ""]
    if reports.in_progress(training):
        lines += [
            f"**Training in progress**: modules 1..{training['stages_trained']} of "
            f"{metadata.get('num_modules', '?')} are trained so far, and these weights load with "
            "those modules active. Not evaluated and not published until training is complete.",
            "",
        ]
    lines += [
        f"GHVAE with {metadata.get('num_modules', '?')} modules, "
        f"{metadata.get('parameters', 0):,} parameters, {size}×{size} RGB, "
        f"{protocol_text}. Greedy Hierarchical VAEs (Wu et al., CVPR 2021, "
        "arXiv:2103.04174), implemented in ghvae-keras.",
        "",
        "## Use",
        "",
    ]
    if preview:
        lines += [
            f"![The sample clip: the true frames on top, two sampled futures below]({PREVIEW_FILE})",
            "",
            "The sample clip (`load_sample`): the true frames on top, two futures sampled from the "
            "context frames (and the clip's actions) below.",
            "",
        ]
    if training:
        lines += [
            "```python",
            "import ghvae_keras",
            "",
            f'model = ghvae_keras.from_pretrained("{name}")            # checks every file\'s sha256',
            f'clip = ghvae_keras.load_sample("{name}")                # true frames (and actions)',
            "context = clip[\"frames\"][:, :model.context_length]",
            *(["actions = clip[\"actions\"][:, :model.context_length + model.horizon - 1]"]
              if metadata.get("action_dim") else ["actions = None                                    # action-free video"]),
            "video = model.predict_video(context, actions, horizon=model.horizon, num_samples=4)",
            "```",
            "",
        ]
    else:
        lines += [
            f'Untrained so far: `ghvae_keras.from_pretrained("{name}", load_weights=False)` '
            "gives the architecture to train yourself (below).",
            "",
        ]
    if hub.get("repo_id"):
        lines += [
            f"`keras.saving.load_model(\"hf://{hub['repo_id']}\")` also works once `ghvae_keras` is "
            "imported (it registers the layers), but it neither pins a revision nor checks hashes; "
            f"prefer `ghvae_keras.from_pretrained(\"hf://{hub['repo_id']}@<revision>\")`.",
            "",
        ]
    lines += ["## Training data", ""]
    stand_in, real = data.get("stand_in") or {}, data.get("real") or {}
    if training:
        if training.get("dataset") == stand_in.get("name"):
            lines += [
                f"**These weights are trained on simulated data, not on {real.get('title', 'the real dataset')}.** "
                f"The training set is `{training['dataset']}`: {stand_in.get('description', '')}".rstrip(),
                "",
            ]
        else:  # retrained by a user, e.g. on the real data
            lines += [f"These weights are trained on `{training['dataset']}`.", ""]
        lines += [
            "Trained with:",
            "",
            "```bash",
            training["command"],
            "```",
            "",
            *([summary, ""] if (summary := reports.training_summary(training)) else []),
        ]
    else:
        lines += [
            "**No weights are published for this preset yet**: the registry lists its "
            f"configuration. Its weights will be trained on `{stand_in.get('name', 'a simulated stand-in')}`"
            f" ({stand_in.get('description', '')}), a simulated stand-in for "
            f"{real.get('title', 'the real dataset')}.",
            "",
        ]
    if real:
        lines += [
            f"### Train on {real.get('title', 'the real data')}",
            "",
            real.get("access", ""),
            "",
            "```python",
            "import ghvae_keras",
            "from ghvae_keras import data, training",
            "",
            f'model = ghvae_keras.from_pretrained("{name}", load_weights=False)',
            f'train = data.load("{real["name"]}", "train", sequence_length='
            f'{protocol["context"] + protocol["train_future"]}, batch_size=16)',
            'training.fit_greedy(model, train, steps_per_stage=100_000, checkpoint_dir="checkpoints")',
            "```",
            "",
        ]
    lines += _metrics_section(metadata)
    lines += _planning_section(metadata.get("planning"), metadata.get("num_modules"))
    lines += [
        "## Limitations",
        "",
        "- The shipped weights are trained on simulated stand-ins: expect a domain gap on real video; "
        "fine-tune on real data before use.",
        f"- {size}×{size} frames and a model far smaller than the paper's (about 599M parameters): "
        "its numbers are not comparable with the published ones.",
        "- Predictions are samples: use several (`num_samples`) and the best-of-N protocol when comparing.",
        "",
        "## Citation",
        "",
        "```bibtex",
        "@inproceedings{wu2021greedy,",
        "  title={Greedy Hierarchical Variational Autoencoders for Large-Scale Video Prediction},",
        "  author={Wu, Bohan and Nair, Suraj and Mart{\\'i}n-Mart{\\'i}n, Roberto and Fei-Fei, Li and Finn, Chelsea},",
        "  booktitle={CVPR},",
        "  year={2021}",
        "}",
        "```",
        "",
    ]
    from huggingface_hub import ModelCard

    return str(ModelCard(f"---\n{card_data(metadata).to_yaml()}\n---\n\n" + "\n".join(lines)))


def _metrics_section(metadata, folder=""):
    """The card's evaluation tables, one per block of `metadata["metrics"]`
    (see `reports.metrics_block`); `folder` is where the plot lies,
    relative to the card."""
    blocks = metadata.get("metrics") or {}
    lines = ["## Evaluation", ""]
    if not blocks:
        training = metadata.get("training")
        if reports.in_progress(training):
            return lines + [f"Not evaluated yet: training in progress, modules 1..{training['stages_trained']} "
                            f"of {metadata.get('num_modules', '?')} trained; the evaluation follows the "
                            "end-to-end baseline.", ""]
        return lines + ["Not evaluated yet.", ""]
    restarts = (metadata.get("training") or {}).get("baseline_restarts")  # one baseline, every block
    for name, block in blocks.items():
        fvd_samples = block.get("fvd_samples") or block["samples"]
        lines += [
            f"**{reports.BLOCK_TITLES.get(name, name)}**: `{block['dataset']}` ({block['split']}), "
            f"{block['videos']} videos, {block['context']} context frames → {block['horizon']} predicted. "
            f"PSNR and SSIM are the best of {block['samples']} samples per video; FVD (I3D, Kinetics-400) "
            f"is over {fvd_samples} sample{'s' if fvd_samples > 1 else ''} per video, context frames "
            "included. Copying the last context frame is the floor every model must beat.",
            "",
            "| model | PSNR ↑ | SSIM ↑ | FVD ↓ |",
            "|---|---|---|---|",
        ]
        rows = [(f"GHVAE, {modules_label(k)}", figures)
                for k, figures in sorted(block["modules"].items(), key=lambda item: int(item[0]))]
        baseline = block.get("end_to_end")
        if baseline:
            compute = baseline.get("compute") or {}
            # Priced on one processor where the run recorded it: recorded CPU
            # seconds of phases run on different processors do not compare.
            priced = compute.get("priced_on")
            if priced:
                same = (f" ({priced['end_to_end']:,.0f} {compute['unit']} priced on one processor; "
                        f"greedy {priced['greedy']:,.0f})")
            elif compute:
                same = f" ({compute['end_to_end']:,.0f} {compute['unit']}; greedy {compute['greedy']:,.0f})"
            else:
                same = ""
            rows.append((f"end-to-end baseline, same compute{same}", baseline))
        rows.append(("copy last frame", block["copy_last_frame"]))
        for label, figures in rows:
            lines.append(f"| {label} | {_fmt(figures.get('psnr'), 2)} | {_fmt(figures.get('ssim'), 4)} | "
                         f"{_fmt(figures.get('fvd'), 1)} |")
        if baseline and reports.copies_last_frame(baseline, block):
            lines += ["", "The end-to-end baseline's predictions are the last context frame, pixel for pixel: "
                          "its training collapsed, so its row measures copying, not end-to-end training."]
        if baseline and restarts:
            earlier = "1 earlier start" if restarts == 1 else f"{restarts} earlier starts"
            lines += ["", f"The end-to-end baseline is trained from its initialization number {restarts + 1}: "
                          f"{earlier} collapsed in training (the predictions became the last context frame), "
                          "and each time the baseline started again from another initialization "
                          "(`tools/train_zoo.py`, `training.baseline_restarts`)."]
        lines += _horizon_sentence(block)
        if name == reports.plotted_block(metadata) and render_psnr_plot(metadata) is not None:
            lines += ["", f"![PSNR per predicted frame]({folder}{PLOT_FILE})"]
        if block.get("command"):
            lines += ["", "Measured with:", "", "```bash", block["command"], "```"]
        lines.append("")
    return lines


_PLOT_WIDTH, _PLOT_HEIGHT, _MARGIN = 640, 360, (56, 168, 24, 44)  # left, right, top, bottom


def render_psnr_plot(metadata):
    """An SVG line plot of PSNR per predicted frame for 1..K modules, the
    end-to-end baseline and copy-last-frame (the card's evaluation block on
    the stand-in), or None when the metadata has no per-frame curves."""
    name = reports.plotted_block(metadata)
    if name is None:
        return None
    block = metadata["metrics"][name]
    modules = sorted(block["modules"], key=int)
    series = [(modules_label(k), block["modules"][k].get("psnr_per_frame"),
               _blue(i, len(modules)), "") for i, k in enumerate(modules)]
    if block.get("end_to_end"):
        series.append(("end-to-end", block["end_to_end"].get("psnr_per_frame"), "#d95f02", ""))
    series.append(("copy last frame", block["copy_last_frame"].get("psnr_per_frame"), "#777777", "6 4"))
    series = [entry for entry in series if entry[1]]
    if len(series) < 2:
        return None
    frames = max(len(curve) for _, curve, _, _ in series)
    low = min(min(curve) for _, curve, _, _ in series)
    high = max(max(curve) for _, curve, _, _ in series)
    low, high = float(np.floor(low)), float(np.ceil(high)) + (1.0 if high == low else 0.0)
    left, right, top, bottom = _MARGIN
    width, height = _PLOT_WIDTH - left - right, _PLOT_HEIGHT - top - bottom

    def x(frame):
        return left + (frame - 1) / max(frames - 1, 1) * width

    def y(value):
        return top + (high - value) / (high - low) * height

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_PLOT_WIDTH}" height="{_PLOT_HEIGHT}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{_PLOT_WIDTH}" height="{_PLOT_HEIGHT}" fill="white"/>',
           f'<text x="{left}" y="16">{block["dataset"]} ({block["split"]}): PSNR (dB) per predicted frame, '
           f'best of {block["samples"]}</text>']
    step = max(1, int(np.ceil((high - low) / 6)))
    for value in np.arange(low, high + 1e-9, step):
        out.append(f'<line x1="{left}" x2="{left + width}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                   'stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:g}</text>')
    for frame in sorted({1, frames, *range(5, frames, 5)}):
        out.append(f'<text x="{x(frame):.1f}" y="{top + height + 16}" text-anchor="middle">{frame}</text>')
    out.append(f'<text x="{left + width / 2:.0f}" y="{_PLOT_HEIGHT - 8}" text-anchor="middle">'
               'predicted frame</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#999"/>')
    for index, (label, curve, colour, dash) in enumerate(series):
        points = " ".join(f"{x(t + 1):.1f},{y(v):.1f}" for t, v in enumerate(curve))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dashes}/>')
        legend_y = top + 14 + 20 * index
        out.append(f'<line x1="{left + width + 12}" x2="{left + width + 36}" y1="{legend_y - 4}" '
                   f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"{dashes}/>')
        out.append(f'<text x="{left + width + 42}" y="{legend_y}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _blue(index, count):
    """Light to dark blue: more modules, darker."""
    light, dark = np.array([158, 202, 225]), np.array([8, 48, 107])
    shade = index / max(count - 1, 1)
    return "#{:02x}{:02x}{:02x}".format(*(light + (dark - light) * shade).astype(int))


def _horizon_sentence(block):
    """On which predicted frames the full stack beats copy-last-frame in PSNR."""
    k = max(block["modules"], key=int)
    ours, floor = block["modules"][k].get("psnr_per_frame"), block["copy_last_frame"].get("psnr_per_frame")
    if not ours or not floor:
        return []
    better = [t + 1 for t, (a, b) in enumerate(zip(ours, floor)) if a > b]
    ranges = []
    for t in better:
        if ranges and ranges[-1][1] == t - 1:
            ranges[-1][1] = t
        else:
            ranges.append([t, t])
    where = ", ".join(f"{a}–{b}" if b > a else f"{a}" for a, b in ranges)
    return ["", f"Per predicted frame, the {k}-module model's PSNR is above copy-last-frame's on "
                f"{len(better)} of {len(ours)} frames" + (f" (frame{'s' if len(better) > 1 else ''} {where})"
                                                         if better else "")
                + f"; frame 1: {ours[0]:.2f} vs {floor[0]:.2f} dB, frame {len(ours)}: "
                f"{ours[-1]:.2f} vs {floor[-1]:.2f} dB."]


_TIER_NAMES = {"reach": "reach", "short_push": "short push", "long_push": "long push"}


def _planning_section(report, num_modules=None, heading="## Planning"):
    """The card's planning section, from a `planning` block
    (`reports.planning_block`): the tiers' table, when any ran, and how far
    each model's predictions follow the actions."""
    if not reports.is_planning_block(report):
        return []
    lines = [heading, ""]
    if report["tiers"]:
        lines += _planning_tiers(report, num_modules)
    else:
        lines.append("Not planned with: the simulated push task takes other actions than this model's.")
    response = {method: figures for method, figures in report["action_response"].items() if figures}
    if response:
        lines += ["", "How far each model's predictions follow the actions, on 9 fixed pushes in the "
                  "stand-in's simulator from a test scene's first frame (spread: how much the predicted "
                  "frames differ between the pushes, as a fraction of how much the real ones do; PSNR: "
                  "open-loop, over the planning horizon): "
                  + "; ".join(f"{reports.planning_label(method, num_modules)}: spread {figures['spread']:.2f}, "
                              f"PSNR {figures['psnr']:.2f} dB" for method, figures in response.items())
                  + "."]
    commands = [row["command"] for entry in report["tiers"].values() for row in entry["rows"].values()]
    commands += [figures["command"] for figures in response.values() if "command" in figures]
    return lines + ["", "Measured with:", "", "```bash", *dict.fromkeys(commands), "```", ""]


def _planning_tiers(report, num_modules):
    """The table of the push task's tiers and the planners' settings."""
    tiers = report["tiers"]
    names = [_TIER_NAMES.get(tier, tier) for tier in tiers]
    rows = [entry["rows"] for entry in tiers.values()]
    methods = sorted(dict.fromkeys(method for by_method in rows for method in by_method),
                     key=_planning_order)
    planners = {method: row["planner"] for by_method in rows for method, row in by_method.items()
                if "planner" in row}
    lines = [
        "Visual MPC on the simulated push task (`ghvae_sim_push` test scenes, Meta-World's Sawyer), "
        "in three tiers: *reach* (bring the hand where the goal image shows it, within 4 cm, "
        "moving in the plane the camera sees), *short push* (the puck 7–12 cm from its goal, the "
        "hand just behind it, moving in the plane) and *long push* (the puck at least 16 cm from "
        "its goal, the hand above the bin). A push succeeds by Meta-World's `info[\"success\"]` "
        "(the puck within 5 cm of the goal). A planner sees only frames and a goal image.",
        "",
        "| policy | " + " | ".join(f"{name} ({tiers[tier]['max_steps']} steps)"
                                  for tier, name in zip(tiers, names)) + " |",
        "|---|" + "---|" * len(tiers),
    ]
    for method in methods:
        cells = []
        for by_method in rows:
            row = by_method.get(method)
            cells.append("–" if row is None else
                         f"{round(row['success'] * row['episodes'])}/{row['episodes']} "
                         f"({row['final_distance_m'] * 100:.1f} cm)")
        lines.append(f"| {reports.planning_label(method, num_modules)} | " + " | ".join(cells) + " |")
    lines += ["", "Successes over episodes from fixed seeds (the test split's first), with the mean "
              "final distance from the goal in brackets (the hand's for reach, the puck's for a push)."]
    calibrated = {name: entry["calibrated"] for name, entry in zip(names, tiers.values())
                  if "calibrated" in entry}
    if calibrated:
        bounds = report["calibration"]
        lines[-1] += (f" Each tier's step budget is set so that the scripted policy succeeds in at "
                      f"least {bounds['scripted']:.0%} and random actions in at most "
                      f"{bounds['random']:.0%}: "
                      + "; ".join(f"{name} {'holds' if ok else 'does not hold'}"
                                  for name, ok in calibrated.items()) + ".")
    for method, planner in planners.items():
        per_plan = [by_method[method]["seconds_per_plan"] for by_method in rows if method in by_method]
        per_episode = [f"{name} {by_method[method]['seconds_per_episode']:.0f} s"
                       for name, by_method in zip(names, rows) if method in by_method]
        goal = "without the robot" if planner["goal_hand"] == "hidden" else "with the hand"
        lines += ["", f"- {reports.planning_label(method, num_modules)}: CEM with "
                  f"{planner['candidates']} candidates × {planner['iterations']} iterations over "
                  f"{planner['horizon']} steps, {planner['cost'].replace('_', ' ')} cost, push goals "
                  f"{goal}, replanning every {planner['replan_every']} steps: "
                  f"{np.mean(per_plan):.2f} s per replan; per episode " + ", ".join(per_episode) + "."]
    return lines


def _planning_order(method):
    """Rows in order: the models, most modules first, then the references."""
    modules = reports.planning_modules(method)
    references = ("perfect_model", "scripted", "random")
    if modules is not None:
        return (0, -modules, method)
    return (1, references.index(method) if method in references else len(references), method)


def _fmt(value, decimals):
    return "–" if value is None else f"{value:.{decimals}f}"



def _zoo_summary(models):
    """One row per evaluated preset: the smallest and the full stack, the
    end-to-end baseline and copy-last-frame, in PSNR and FVD."""
    rows, collapsed = [], []
    for name, metadata in models.items():
        block = (metadata.get("metrics") or {}).get(reports.STAND_IN_TEST)
        if not block:
            continue
        if block.get(reports.END_TO_END) and reports.copies_last_frame(block[reports.END_TO_END], block):
            collapsed.append(f"`{name}`")
        counts = sorted(block["modules"], key=int)
        columns = [block["modules"][counts[0]], block["modules"][counts[-1]],
                   block.get(reports.END_TO_END) or {}, block[reports.COPY_LAST_FRAME]]
        rows.append(f"| `{name}` | `{block['dataset']}` | {block['context']} → {block['horizon']} | {counts[-1]} | "
                    + " | ".join(_fmt(c.get("psnr"), 2) for c in columns) + " | "
                    + " | ".join(_fmt(c.get("fvd"), 1) for c in columns) + " |")
    if not rows:
        return []
    return [
        "## Summary",
        "",
        "On each stand-in's test split (details and SSIM per preset below): PSNR (best of N "
        "samples, dB) and FVD of 1 module and of all K modules of the greedy weights, of the "
        "end-to-end baseline trained at the same compute, and of copying the last context frame.",
        "",
        "| preset | test data | context → future | K | PSNR 1 module | PSNR K modules | PSNR end to end | "
        "PSNR copy | FVD 1 module | FVD K modules | FVD end to end | FVD copy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *([f"The end-to-end baseline of {' and '.join(collapsed)} collapsed in training: its predictions "
           "are the last context frame, pixel for pixel, and its columns repeat copying's.", ""]
          if collapsed else []),
    ]


def render_zoo_card(models, reference):
    """MODEL_CARD.md: every preset of `models` (`list_models()`), with the
    published reference numbers of `reference` (zoo/reference_results.json)."""
    sizes = " and ".join(sorted({f"{m['image_size']}×{m['image_size']}" for m in models.values()
                                 if m.get("image_size")})) or "Small"
    lines = [
        "# ghvae-keras model card",
        "",
        "Generated by `python tools/make_model_card.py` from `zoo/*/metadata.json` and "
        "`zoo/reference_results.json`; do not edit by hand.",
        "",
        "GHVAE (Greedy Hierarchical VAEs, Wu et al., CVPR 2021, arXiv:2103.04174) predicts future "
        "video frames from a few context frames, optionally conditioned on robot actions. Each "
        "preset is a stack of encoder–decoder modules trained greedily: module k with modules "
        "1..k−1 frozen.",
        "",
        "## Intended use",
        "",
        "- Research on video prediction and model-based robot learning: sampling possible "
        "futures, planning robot actions with the model (visual MPC), a baseline to compare against.",
        "- A starting point to fine-tune or retrain on your own data (`load_weights=False` gives "
        "the architecture).",
        "- Not for decisions where a wrong prediction can hurt someone (driving, robots near "
        "people): the models are small, trained on simulation, and their futures are samples.",
        "",
        "## Presets",
        "",
        "| preset | trained on (simulated stand-in) | real data it stands in for | context → future (train / eval) | actions | parameters | weights |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, metadata in models.items():
        data, protocol = metadata.get("data") or {}, metadata.get("protocol") or {}
        stand_in, real = data.get("stand_in") or {}, data.get("real") or {}
        lines.append(
            f"| `{name}` | `{stand_in.get('name', '?')}` | {real.get('title', '?')} "
            f"(`{real.get('tfds', '?')}`) | {protocol.get('context')} → {protocol.get('train_future')} / "
            f"{protocol.get('context')} → {protocol.get('eval_future')} | "
            f"{metadata.get('action_dim') or 'none'} | {metadata.get('parameters', 0):,} | "
            f"{'yes' if metadata.get('has_weights') else 'not yet'} |"
        )
    lines += [
        "",
        "## Training data",
        "",
        "**The shipped weights are trained on simulated stand-ins built by this project** "
        "(`ghvae_keras.data`), not on BAIR, RoboNet, KITTI or Cityscapes: the real datasets "
        "are large and licensed separately. To train a preset on the real data:",
        "",
        "```python",
        "import ghvae_keras",
        "from ghvae_keras import data, training",
        "",
        'model = ghvae_keras.from_pretrained("<preset>", load_weights=False)',
        'train = data.load("<real data>", "train", sequence_length=<context + future>, batch_size=16)',
        'training.fit_greedy(model, train, steps_per_stage=100_000, checkpoint_dir="checkpoints")',
        "```",
        "",
    ]
    for name, metadata in models.items():
        data = metadata.get("data") or {}
        stand_in, real = data.get("stand_in") or {}, data.get("real") or {}
        training = metadata.get("training")
        status = (f"trained with `{training['command']}`" if training
                  else "not trained yet")
        if reports.in_progress(training):
            status = (f"being trained, modules 1..{training['stages_trained']} of "
                      f"{metadata.get('num_modules', '?')} so far, with `{training['command']}`")
        lines += [
            f"- `{name}`: `{stand_in.get('name')}`, {stand_in.get('description', '')}; {status}. "
            f"Real data: `data.load(\"{real.get('name')}\", ...)`. {real.get('access', '')}",
        ]
    lines += ["", *_zoo_summary(models), "## Metrics per number of modules", ""]
    for name, metadata in models.items():
        section = _metrics_section(metadata, folder=f"zoo/{name}/")[2:]
        lines += [f"### {name}", "", *section,
                  *_planning_section(metadata.get("planning"), metadata.get("num_modules"),
                                     heading="### Planning")]
    lines += [
        "## Published reference numbers",
        "",
        f"From {reference['source']}; {reference['protocol']}. These are on the real data "
        "with the paper's models (GHVAE: about 599M parameters) and are not comparable with "
        "the figures above; they show where the method stands.",
        "",
        "| dataset | model | FVD ↓ | PSNR ↑ | SSIM ↑ | LPIPS ↓ |",
        "|---|---|---|---|---|---|",
    ]
    for row in reference["rows"]:
        lines.append(f"| {row['dataset']} | {row['model']} | {row['fvd']:.1f} | {row['psnr']:.1f} | "
                     f"{row['ssim']:.3f} | {row['lpips']:.3f} |")
    lines += [
        "",
        "## Limitations",
        "",
        "- Simulated training data: expect a domain gap on real video; fine-tune before use.",
        f"- {sizes} frames and models far smaller than the paper's.",
        "- Action-conditioned presets assume the action spaces above (BAIR: dx, dy, dz, gripper; "
        "RoboNet: dx, dy, dz, rotation, gripper); other robots need retraining.",
        "",
    ]
    return "\n".join(lines)
