"""How much a preset's decoders render from their features, and how much they copy from the skips.

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

    python tools/probe_decoders.py robonet-4mod --data-dir /work/data/tfds

Prints one JSON line. The model's own predictions are not involved: it is a
probe of the decoding path, not a score of the model.
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

    context = model.context_length
    counts = range(1, model.num_modules + 1)
    scores = {k: {"reconstruct_context": [], "render_future": []} for k in counts}
    copy, videos = [], 0
    for batch in batches:
        frames = np.asarray(batch["frames"], np.float32)[: max_videos - videos]
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
        if videos >= max_videos:
            break
    result = {}
    for k, entry in scores.items():
        future = np.concatenate(entry["render_future"])
        result[str(k)] = {"reconstruct_context": round(float(np.concatenate(entry["reconstruct_context"]).mean()), 2),
                          "render_future": round(float(future.mean()), 2),
                          "render_first_future": round(float(future[:, 0].mean()), 2)}
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
    name = args.data or ((loaded.metadata.get("data") or {}).get("stand_in") or {}).get("name")
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
