"""tools/bench_training.py and tools/ablate.py on a tiny preset."""

import json

import numpy as np
import pytest
import tensorflow as tf

from ghvae_keras import GHVAE, zoo
from presets import load_tool, run_tool, tiny_metadata


@pytest.fixture
def tiny_zoo(tmp_path):
    metadata = tiny_metadata(name="tiny-bair")
    metadata["data"]["stand_in"]["name"] = "bair"  # TFDS mock data stands in for the simulator
    metadata.update(training={"dataset": "bair", "command": "python tools/train_zoo.py tiny-bair",
                             "batch_size": 2}, metrics={})
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=4,
                  context_length=2, horizon=3)
    zoo.save_preset(model, tmp_path / "zoo" / "tiny-bair", metadata, include_weights=False)
    return tmp_path / "zoo"


def test_graph_flops_counts_a_convolution_exactly():
    bench = load_tool("bench_training")
    kernel = tf.ones((3, 3, 2, 5))
    conv = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
    graph = conv.get_concrete_function(tf.TensorSpec((4, 8, 8, 2))).graph
    # Two operations (multiply, add) per kernel tap, input channel and output value.
    assert bench._graph_flops(graph, tf) == 2 * 4 * 8 * 8 * 5 * 3 * 3 * 2


def test_bench_training_reports_every_phase(tiny_zoo, capsys):
    code, line = run_tool("bench_training", ["--preset", "tiny-bair", "--zoo", str(tiny_zoo),
                                              "--steps", "1", "--profile"], capsys)
    report = json.loads(line)
    assert code == 0 and list(report["phases"]) == ["stage_1", "stage_2", "end_to_end"]
    assert report["settings"] == {"batch_size": 2, "sequence_length": 5, "steps": 1}
    phases = report["phases"]
    # The baseline trains both modules with a latent at each level: more work than either stage.
    assert phases["end_to_end"]["flops"] > max(phases["stage_1"]["flops"], phases["stage_2"]["flops"])
    assert phases["end_to_end"]["parameters_trained"] > phases["stage_2"]["parameters_trained"]
    for entry in phases.values():
        rate = entry["flops"] / entry["seconds_per_step"] / 1e9
        assert entry["gflops"] == pytest.approx(rate, rel=0.01, abs=0.1)
        convolutions = entry["convolutions"]
        assert set(convolutions["by_op"]) == {"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"}
    with pytest.raises(SystemExit, match="unknown phase"):
        load_tool("bench_training").main(["--preset", "tiny-bair", "--zoo", str(tiny_zoo), "--phases", "stage_3"])


def test_bench_training_times_the_same_steps_on_jax(tiny_zoo, capsys):
    code, line = run_tool("bench_training", ["--preset", "tiny-bair", "--zoo", str(tiny_zoo), "--steps", "1",
                                              "--phases", "end_to_end", "--backend", "jax"], capsys)
    report = json.loads(line)
    on_jax = report["jax"]
    assert code == 0 and list(on_jax["phases"]) == ["end_to_end"]
    assert on_jax["matmul_gflops"] > 0 and "jax" in on_jax["versions"]
    for phase, entry in on_jax["phases"].items():
        # XLA counts the same step as TensorFlow's profiler, within what each calls an operation.
        assert entry["flops"] == pytest.approx(report["phases"][phase]["flops"], rel=0.5)
        assert entry["vs_tensorflow"] == pytest.approx(
            entry["seconds_per_step"] / report["phases"][phase]["seconds_per_step"], rel=0.01, abs=0.002)


def test_ablation_variants_start_from_the_default_options_whatever_the_preset_ships_with():
    ablate = load_tool("ablate")
    shipped = {"module_channels": [8, 16], "beta": 1e-4, "feed_predictions": True, "skip_from": "previous"}
    protocol = {"context": 2, "train_future": 10, "eval_future": 28}
    config, settings = ablate.recipe("base", shipped, protocol)
    assert config["feed_predictions"] is False and config["skip_from"] == "context"
    assert config["module_channels"] == [8, 16] and settings["sequence_length"] == 12
    config, settings = ablate.recipe("feed_predictions+wide+long_clips", shipped, protocol)
    assert config["feed_predictions"] is True and config["module_channels"] == [16, 32]
    assert settings["sequence_length"] == 30 and settings["blend_bias"] is None and "dtype" not in config
    config, _ = ablate.recipe("bfloat16", shipped, protocol)
    assert config["dtype"] == "mixed_bfloat16" and config["motion_weight"] == 0.0
    config, _ = ablate.recipe("motion_loss_30", shipped, protocol)
    assert config["motion_weight"] == 3 * ablate.recipe("motion_loss", shipped, protocol)[0]["motion_weight"] == 30


def test_the_open_blend_variant_starts_the_pixel_mask_at_one_half():
    from ghvae_keras import GHVAE
    from tiny_data import TINY

    ablate = load_tool("ablate")
    _, settings = ablate.recipe("open_blend", {}, {"context": 2, "train_future": 3})
    model = GHVAE(**TINY)
    ablate._set_blend_bias(model, settings["blend_bias"])
    bias = np.array(model.ghvae_modules[0].decoder.out.bias)
    assert bias[-1] == 0.0 and np.all(bias[:-1] == 0.0)


@pytest.mark.slow  # two variants, each trained and evaluated
def test_ablate_trains_variants_at_equal_cpu_and_skips_finished_ones(tiny_zoo, tmp_path, capsys):
    import tensorflow_datasets as tfds

    out = tmp_path / "ablation.json"
    changes = "skip_previous+beta_1e-3+lower_cores+bfloat16"
    argv = ["--preset", "tiny-bair", "--zoo", str(tiny_zoo), "--variants", f"base,{changes}",
            "--budget", "2", "--videos", "3", "--samples", "2", "--out", str(out)]
    with tfds.testing.mock_data(num_examples=16):  # the recipe's batch of 8 needs full batches
        assert load_tool("ablate").main(argv) == 0
        results = json.loads(out.read_text())
        base, changed = results["variants"]["base"], results["variants"][changes]
        assert changed["config"]["skip_from"] == "previous" and changed["config"]["beta"] == 1e-3
        assert changed["config"]["lower_cores"] is True
        assert base["config"]["beta"] == 1e-4 and base["config"]["skip_from"] == "context"
        for entry in (base, changed):
            stages = entry["training"]["stages"]
            assert sorted(stages) == ["stage_1", "stage_2"]
            # Each stage stops once it has spent its share of the budget (1 s each).
            assert all(1.0 <= stage["cpu"] < 30 and stage["steps"] >= 2 for stage in stages.values())
            assert sorted(entry["modules"]) == ["1", "2"] and entry["videos"] == 3
            assert all(np.isfinite(m["psnr_shuffled_actions"]) for m in entry["modules"].values())
        capsys.readouterr()
        assert load_tool("ablate").main(argv) == 0  # nothing left to train
        printed = capsys.readouterr().out
        assert '"variant"' not in printed and f"| {changes} |" in printed
        full = changed["modules"]["2"]
        assert f"| {full['psnr'] - full['psnr_shuffled_actions']:+.2f} dB |" in printed
        with pytest.raises(SystemExit, match="holds results for"):
            load_tool("ablate").main(argv[:-2] + ["--budget", "3", "--out", str(out)])
    assert np.isfinite(base["modules"]["2"]["psnr"])


def _shipped_tiny_bair(zoo_folder):
    """tiny-bair with trained-looking weights: every weight drawn at random."""
    folder = zoo_folder / "tiny-bair"
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=4,
                  context_length=2, horizon=3, seed=7, skip_from="previous")
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    zoo.save_preset(model, folder, zoo.read_metadata(folder), overwrite=True)
    return folder, model


def test_top_stage_starts_from_the_shipped_lower_modules_and_a_fresh_top(tiny_zoo):
    ablate = load_tool("ablate")
    folder, shipped = _shipped_tiny_bair(tiny_zoo)
    config, settings = ablate.recipe("feed_predictions", shipped.get_config(), {"context": 2, "train_future": 3},
                                     keep=ablate.LOWER_MODULE_OPTIONS)
    model = ablate.initial_model(config, settings, seed=0, shipped_from=folder)
    # The lower modules run as they were trained; the variant changes the rest.
    assert model.skip_from == "previous" and model.feed_predictions
    for ours, theirs in zip(model.ghvae_modules[0].get_weights(), shipped.ghvae_modules[0].get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    fresh = ablate.initial_model(config, settings, seed=0)
    for ours, init in zip(model.ghvae_modules[1].get_weights(), fresh.ghvae_modules[1].get_weights()):
        np.testing.assert_array_equal(ours, init)


@pytest.mark.parametrize("variant", ["wide", "cosine_lr+lower_cores"])
def test_top_stage_refuses_variants_that_change_the_lower_modules(tiny_zoo, variant, capsys):
    with pytest.raises(SystemExit):
        load_tool("ablate").main(["--preset", "tiny-bair", "--zoo", str(tiny_zoo), "--variants", variant,
                                  "--top-stage"])
    assert "how the shipped lower modules run" in capsys.readouterr().err


@pytest.mark.slow  # one variant trained and evaluated
def test_top_stage_trains_the_top_module_alone_for_the_whole_budget(tiny_zoo, tmp_path, capsys):
    import tensorflow_datasets as tfds

    _shipped_tiny_bair(tiny_zoo)
    out = tmp_path / "top.json"
    argv = ["--preset", "tiny-bair", "--zoo", str(tiny_zoo), "--variants", "base", "--top-stage",
            "--budget", "2", "--videos", "3", "--samples", "2", "--out", str(out)]
    with tfds.testing.mock_data(num_examples=16):
        assert load_tool("ablate").main(argv) == 0
    results = json.loads(out.read_text())
    stages = results["variants"]["base"]["training"]["stages"]
    assert results["settings"]["top_stage"] is True and list(stages) == ["stage_2"]
    assert stages["stage_2"]["cpu"] >= 2.0
    assert "of training module 2 alone, over the shipped modules 1..1," in capsys.readouterr().out
