"""How much a preset's decoders render from their features, and how much they copy from the skips;
how much its latent carries.

For each module count k, on the first test videos of the preset's stand-in
(or --data), decoders k..1 are given the level-k features that the encoders
make of a real frame and the skips that prediction gives them (the last
context frame's, with `skip_from="context"`), and the decoded frame is scored
in PSNR (dB) against that real frame:

- `reconstruct_context`: the last context frame from its own features and
  skips (what the decoders lose when nothing has to move);
- `render_future`: each future frame from its own features but the context
  frame's skips, as prediction sees them (what the features carry of the
  change; near `copy_last_frame` when the decoders copy the skips);
- `render_first_future`: the same for the first predicted frame only.

And what the top module's latent carries, with the model predicting:

- `kl_per_step`: the KL term of a training step (nats per predicted frame,
  the posterior against the prior), on these clips: near 0 when the
  posterior says nothing the prior does not, i.e. the latent is unused;
- `sample_difference`: the mean absolute difference (pixels in [0, 1])
  between two sampled rollouts of the same context and actions, next to
  `prediction_error`, the first sample's against the real frames: samples
  far closer to each other than to the truth make best-of-N no better than
  one sample;
- `shuffled_actions_error` (action-conditioned presets): the same error
  when each video is predicted with the next video's actions: near
  `prediction_error` when the predictions hardly follow the actions.

    python tools/probe_decoders.py robonet-4mod --data-dir /work/data/tfds

Prints one JSON line. It is a probe of the model's parts, not a score of
the model.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def probe(model, batches, max_videos):
    """`{k: {reconstruct_context, render_future, render_first_future}}` and
    copy-last-frame's PSNR, over at most `max_videos` videos of `batches`."""
    import numpy as np
    from keras import ops

    from ghvae_keras.metrics.image_quality import psnr

    rng = np.random.default_rng(0)
    context = model.context_length
    counts = range(1, model.num_modules + 1)
    keys = ("reconstruct_context", "render_future", "kl_per_step", "sample_difference", "prediction_error",
            "shuffled_actions_error")
    scores = {k: {key: [] for key in keys} for k in counts}
    copy, videos = [], 0
    for batch in batches:
        frames = np.asarray(batch["frames"], np.float32)[: max_videos - videos]
        actions = None if "actions" not in batch else np.asarray(batch["actions"], np.float32)[: len(frames)]
        videos += len(frames)
        last, future = frames[:, context - 1], frames[:, context:]
        horizon = future.shape[1]
        copy.append(np.asarray(psnr(future, np.repeat(last[:, None], horizon, axis=1))))
        for k in counts:
            truncated = model if k == model.num_modules else model.truncated(k)
            decoded = truncated.decode_features(truncated.encode_features(last)[-1], last)
            scores[k]["reconstruct_context"].append(np.asarray(psnr(last, ops.clip(decoded, 0.0, 1.0))))
            flat = np.reshape(future, (-1,) + future.shape[2:])
            rendered = truncated.decode_features(truncated.encode_features(flat)[-1],
                                                 np.repeat(last, horizon, axis=0))
            rendered = np.reshape(np.clip(np.asarray(rendered), 0.0, 1.0), future.shape)
            scores[k]["render_future"].append(np.asarray(psnr(future, rendered)))
            inputs = {"frames": frames} if actions is None else {"frames": frames, "actions": actions}
            scores[k]["kl_per_step"].append(np.asarray(truncated(inputs, training=True)["kl"]))
            # Two samples, and the first one's noise with the next video's actions.
            noises = [{name: rng.standard_normal((len(frames),) + shape).astype(np.float32)
                       for name, shape in truncated.noise_shapes(horizon).items()} for _ in range(2)]
            first, second = (np.asarray(truncated.rollout(frames[:, :context], actions, noise, horizon))
                             for noise in noises)
            scores[k]["sample_difference"].append(np.abs(first - second).mean(axis=(1, 2, 3, 4)))
            scores[k]["prediction_error"].append(np.abs(first - future).mean(axis=(1, 2, 3, 4)))
            if actions is not None and len(frames) > 1:
                others = np.asarray(truncated.rollout(frames[:, :context], np.roll(actions, 1, axis=0),
                                                      noises[0], horizon))
                scores[k]["shuffled_actions_error"].append(np.abs(others - future).mean(axis=(1, 2, 3, 4)))
        if videos >= max_videos:
            break
    result = {}
    for k, entry in scores.items():
        mean = {key: float(np.concatenate(values).mean()) for key, values in entry.items() if values}
        future = np.concatenate(entry["render_future"])
        result[str(k)] = {"reconstruct_context": round(mean["reconstruct_context"], 2),
                          "render_future": round(mean["render_future"], 2),
                          "render_first_future": round(float(future[:, 0].mean()), 2),
                          "kl_per_step": round(mean["kl_per_step"], 4),
                          "sample_difference": round(mean["sample_difference"], 5),
                          "prediction_error": round(mean["prediction_error"], 4)}
        if "shuffled_actions_error" in mean:
            result[str(k)]["shuffled_actions_error"] = round(mean["shuffled_actions_error"], 4)
    return result, round(float(np.concatenate(copy).mean()), 2), videos


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="a preset name or folder")
    parser.add_argument("--data", default=None, help="default: the preset's stand-in")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--split", default="test")
    parser.add_argument("--videos", type=int, default=96)
    args = parser.parse_args(argv)

    from ghvae_keras import data as data_lib
    from ghvae_keras import zoo

    loaded = zoo.load_preset(args.preset)
    model, protocol = loaded.model, loaded.protocol
    name = args.data or loaded.stand_in
    if name is None:
        sys.exit(f"probe_decoders: {args.preset} names no stand-in dataset; pass --data")
    if model.skip_from != "context":
        sys.exit(f"probe_decoders: {args.preset} takes its skips from the {model.skip_from} frame; "
                 "the probe gives the decoders the context frame's")
    batches = data_lib.load(name, args.split, protocol["context"] + protocol["eval_future"], 16,
                            shuffle=False, image_size=model.image_size, data_dir=args.data_dir)
    per_count, copy, videos = probe(model, data_lib.iterate(batches), args.videos)
    print(json.dumps({"preset": args.preset, "data": name, "split": args.split, "videos": videos,
                      "horizon": protocol["eval_future"], "copy_last_frame": copy, "modules": per_count}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
