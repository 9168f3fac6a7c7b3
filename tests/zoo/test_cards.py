"""Model cards rendered from metadata."""

import json
from pathlib import Path

import huggingface_hub

from ghvae_keras import zoo


def test_card_front_matter(preset):
    card = huggingface_hub.ModelCard.load(preset / zoo.CARD_FILE)
    assert card.data.library_name == "keras"
    assert {"video-prediction", "ghvae"} <= set(card.data.tags)
    assert card.data.datasets == ["pushed_squares"]
    assert {(r.metric_type, r.metric_value) for r in card.data.eval_results} == {
        ("psnr", 20.5), ("ssim", 0.78), ("psnr", 21.5), ("ssim", 0.81)}
    assert "python tools/train_zoo.py tiny-2mod" in card.text
    assert zoo.validate_card(preset) == []


def test_card_tables_every_module_count_the_baseline_and_the_floor(preset):
    text = (preset / zoo.CARD_FILE).read_text()
    assert "`pushed_squares` (test), 8 videos, 2 context frames → 3 predicted" in text
    assert "best of 4 samples per video; FVD (I3D, Kinetics-400) is over 4 samples per video" in text
    assert ("the 2-module model's PSNR is above copy-last-frame's on 2 of 3 frames (frames 1, 3); "
            "frame 1: 22.00 vs 21.00 dB, frame 3: 18.00 vs 17.00 dB.") in text
    table = [line for line in text.splitlines() if line.startswith("| ") and "PSNR" not in line]
    assert table == [
        "| GHVAE, 1 module | 20.50 | 0.7800 | – |",
        "| GHVAE, 2 modules | 21.50 | 0.8100 | – |",
        "| end-to-end baseline, same compute (98 process CPU seconds; greedy 100) | 20.00 | 0.7700 | – |",
        "| copy last frame | 19.00 | 0.7400 | – |",
    ]


def test_card_tables_the_planning_benchmark(preset):
    metadata = zoo.read_metadata(preset)

    def row(success, distance, episodes=20, command="python tools/bench_planning.py --episodes 20",
            per_plan=None):
        planner = {} if per_plan is None else {
            "seconds_per_plan": per_plan,
            "planner": {"candidates": 64, "iterations": 3, "horizon": 10, "cost": "change_maps",
                        "replan_every": 3, "goal_hand": "shown"}}
        return {"episodes": episodes, "seeds": [0, episodes - 1], "success": success,
                "final_distance_m": distance, "start_distance_m": 0.2, "seconds_per_episode": 30.0,
                **planner, "command": command}

    metadata["planning"] = {
        "tiers": {
            "reach": {"max_steps": 20, "action_bounds": [], "calibrated": True, "rows": {
                "4_modules": row(0.85, 0.03, per_plan=1.5), "scripted": row(1.0, 0.02),
                "random": row(0.0, 0.2)}},
            "short_push": {"max_steps": 40, "action_bounds": [], "calibrated": False, "rows": {
                "4_modules": row(0.5, 0.081, per_plan=2.5), "scripted": row(0.95, 0.04),
                "random": row(0.15, 0.1),
                "perfect_model": row(0.7, 0.05, episodes=10, per_plan=10.0,
                                     command="python tools/bench_planning.py --methods perfect_model")}},
        },
        "action_response": {"4_modules": {"spread": 0.8, "psnr": 21.5}, "1_module": {}},
        "calibration": {"scripted": 0.9, "random": 0.1}, "preset": "bair-4mod",
    }
    zoo.write_card(preset, metadata)
    text = (preset / zoo.CARD_FILE).read_text()
    assert "| policy | reach (20 steps) | short push (40 steps) |" in text
    assert "| GHVAE, 4 modules | 17/20 (3.0 cm) | 10/20 (8.1 cm) |" in text
    assert "| random actions | 0/20 (20.0 cm) | 3/20 (10.0 cm) |" in text
    assert "| the planner with the simulator as its model (reference) | – | 7/10 (5.0 cm) |" in text
    rows = [text.index(f"| {label}") for label in ("GHVAE, 4 modules", "the planner with the simulator",
                                                     "scripted policy", "random actions")]
    assert rows == sorted(rows), "the models first, then the references"
    assert "change maps cost, push goals with the hand" in text
    assert "reach holds; short push does not hold." in text
    assert "2.00 s per replan; per episode reach 30 s, short push 30 s." in text
    assert "GHVAE, 4 modules: spread 0.80, PSNR 21.50 dB." in text
    assert "python tools/bench_planning.py --episodes 20\npython tools/bench_planning.py --methods" in text
    assert zoo.read_metadata(preset)["planning"] == metadata["planning"]
    zoo.verify_preset(preset)


def test_a_probe_only_planning_block_shows_the_action_response_and_its_command(preset):
    metadata = zoo.read_metadata(preset)
    command = "python tools/bench_planning.py --preset robonet-4mod --tiers none"
    metadata["planning"] = {
        "tiers": {}, "calibration": {"scripted": 0.9, "random": 0.1}, "preset": "robonet-4mod",
        "action_response": {"4_modules": {"spread": 0.4, "psnr": 17.5, "command": command}},
    }
    zoo.write_card(preset, metadata)
    text = (preset / zoo.CARD_FILE).read_text()
    section = text[text.index("## Planning"):]
    assert "| policy |" not in section and "takes other actions than this model's" in section
    assert "GHVAE, 4 modules: spread 0.40, PSNR 17.50 dB." in section
    assert f"```bash\n{command}\n```" in section


def test_a_baseline_that_only_copies_the_last_frame_is_called_collapsed(preset):
    from ghvae_keras.zoo import cards, reports

    metadata = zoo.read_metadata(preset)
    reference = json.loads((Path(__file__).parents[2] / "zoo" / "reference_results.json").read_text())
    healthy = cards.render_card(metadata) + cards.render_zoo_card({"tiny-2mod": metadata}, reference)
    assert "collapsed" not in healthy
    block = metadata["metrics"][reports.STAND_IN_TEST]
    block[reports.END_TO_END].update({key: block[reports.COPY_LAST_FRAME][key] for key in ("psnr", "ssim", "fvd")})
    assert "its training collapsed" in cards.render_card(metadata)
    assert ("The end-to-end baseline of `tiny-2mod` collapsed in training"
            in cards.render_zoo_card({"tiny-2mod": metadata}, reference))


def test_a_retrained_baseline_says_how_many_starts_collapsed(preset):
    from ghvae_keras.zoo import cards

    metadata = zoo.read_metadata(preset)
    assert "initialization number" not in cards.render_card(metadata)
    metadata["training"]["baseline_restarts"] = 2
    assert ("trained from its initialization number 3: 2 earlier starts collapsed in training"
            in cards.render_card(metadata))
