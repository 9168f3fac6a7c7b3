"""tools/bench_conv_dtypes.py on a tiny preset."""

import json

import pytest

from ghvae_keras import GHVAE, zoo
from presets import load_tool, run_tool, tiny_metadata


def test_bench_conv_dtypes_times_each_decoder_in_both_dtypes(tmp_path, capsys):
    model = GHVAE(image_size=16, module_channels=(8, 12), latent_channels=2, action_dim=4,
                  context_length=2, horizon=3)
    zoo.save_preset(model, tmp_path / "tiny", tiny_metadata(name="tiny"), include_weights=False)
    code, line = run_tool("bench_conv_dtypes", ["--preset", str(tmp_path / "tiny"), "--batch", "2",
                                                 "--repeats", "1"], capsys)
    report = json.loads(line)
    assert code == 0 and report["batch"] == 2 and isinstance(report["amx"], (bool, type(None)))
    rows = report["convolutions"]
    assert [(row["module"], row["input"], row["filters"]) for row in rows] == [
        (1, [2, 16, 16, 8], 8), (2, [2, 8, 8, 12], 12)]
    for row in rows:
        assert row["ms_float32"] > 0 and row["ms_bfloat16"] > 0
        assert row["bfloat16_over_float32"] == pytest.approx(row["ms_bfloat16"] / row["ms_float32"], rel=0.02)
    assert report["command"].endswith("--batch 2 --repeats 1")
    with pytest.raises(SystemExit):
        load_tool("bench_conv_dtypes").main(["--batch", "0"])
