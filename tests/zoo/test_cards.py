"""Model cards rendered from metadata."""


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

    def tier(max_steps, success, distance, **extra):
        return {"episodes": 20, "max_steps": max_steps, "start_distance_m": 0.2, "success": success,
                "final_distance_m": distance, "seconds_per_episode": {m: 1.0 for m in success},
                **extra}

    metadata["planning"] = {
        "tiers": {
            "reach": tier(15, {"4_modules": 0.85, "scripted": 1.0, "random": 0.0},
                          {"4_modules": 0.03, "scripted": 0.02, "random": 0.2},
                          seconds_per_plan={"4_modules": 1.5}, calibrated=True),
            "short_push": tier(30, {"4_modules": 0.55, "scripted": 0.95, "random": 0.15},
                               {"4_modules": 0.081, "scripted": 0.04, "random": 0.1},
                               seconds_per_plan={"4_modules": 2.5}, calibrated=False),
        },
        "action_response": {"4_modules": {"spread": 0.8, "psnr": 21.5}, "1_module": {}},
        "settings": {"candidates": 64, "iterations": 3, "horizon": 10, "cost": "changed_pixels",
                     "replan_every": 3, "goal_hand": "hidden",
                     "calibration": {"scripted": 0.9, "random": 0.1}},
        "command": "python tools/bench_planning.py --episodes 20",
    }
    zoo.write_card(preset, metadata)
    text = (preset / zoo.CARD_FILE).read_text()
    assert "| policy | reach (15 steps) | short push (30 steps) |" in text
    assert "| GHVAE, 4 modules | 85% (3.0 cm) | 55% (8.1 cm) |" in text
    assert "| random actions | 0% (20.0 cm) | 15% (10.0 cm) |" in text
    assert "changed pixels cost" in text and "(for a push, without the robot)" in text
    assert "reach holds; short push does not hold." in text
    assert "Seconds per replan: GHVAE, 4 modules 2.00." in text
    assert "GHVAE, 4 modules: spread 0.80, PSNR 21.50 dB." in text
    assert "python tools/bench_planning.py --episodes 20" in text
    assert zoo.read_metadata(preset)["planning"] == metadata["planning"]
    zoo.verify_preset(preset)


