"""A tiny procedural, action-conditioned video: a square pushed by the actions.

Small enough to train on in seconds on a CPU; used by the quick demo and
the tests. Not a stand-in for a real dataset.
"""

import numpy as np


def pushed_squares(num_videos, steps, image_size=32, square_size=None, seed=0):
    """Videos of a coloured square that moves by each action, over a textured
    background that stays put.

    Args:
        num_videos: number of clips.
        steps: frames per clip.
        image_size: height and width.
        square_size: side of the square in pixels (default: image_size // 5).
        seed: clips are a deterministic function of the seed.

    Returns:
        `{"frames": float32 [N, T, S, S, 3] in [0, 1], "actions": float32
        [N, T-1, 2] in [-1, 1]}`; action t moves the square by
        `action * square_size / 2` pixels between frames t and t+1.
    """
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    rng = np.random.default_rng(seed)
    size = image_size
    side = square_size or max(2, size // 5)
    yy, xx = np.mgrid[0:size, 0:size] / size
    frames = np.empty((num_videos, steps, size, size, 3), np.float32)
    # Actions are held for a few steps, as a pushing policy would.
    holds = rng.uniform(-1, 1, (num_videos, (steps + 2) // 3, 2))
    actions = np.repeat(holds, 3, axis=1)[:, : steps - 1].astype(np.float32)
    for n in range(num_videos):
        phase = rng.uniform(0, 2 * np.pi, 3)
        background = 0.35 + 0.15 * np.stack(
            [np.sin(6 * xx + phase[0]), np.cos(5 * yy + phase[1]), np.sin(4 * (xx + yy) + phase[2])],
            axis=-1,
        )
        colour = rng.uniform(0.6, 1.0, 3) * rng.permutation([1.0, 0.3, 0.0])
        position = rng.uniform(0, size - side, 2)
        for t in range(steps):
            frame = background.copy()
            y, x = np.round(position).astype(int)
            frame[y : y + side, x : x + side] = colour
            frames[n, t] = frame
            if t < steps - 1:
                position = np.clip(position + actions[n, t] * side / 2, 0, size - side)
    return {"frames": frames, "actions": actions}
