"""Samplers: random and grid are exact; TPE learns from observations of every level."""

from __future__ import annotations

import pickle

import numpy as np

from hpo.samplers import GridSampler, RandomSampler, TPESampler
from hpo.space import SearchSpace


def test_random_sampler_is_seeded() -> None:
    space = SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1}})
    a, b, c = RandomSampler(space, 1), RandomSampler(space, 1), RandomSampler(space, 2)
    assert [a.sample() for _ in range(5)] == [b.sample() for _ in range(5)]
    assert a.sample() != c.sample()


def test_grid_sampler_yields_every_point_once_then_none() -> None:
    space = SearchSpace.from_dict({"a": [1, 2, 3], "b": ["x", "y"], "c": 7})
    sampler = GridSampler(space)
    seen = [sampler.sample() for _ in range(6)]
    assert sampler.sample() is None
    assert sorted((s["a"], s["b"]) for s in seen) == [(a, b) for a in (1, 2, 3) for b in ("x", "y")]
    assert all(s["c"] == 7 for s in seen)
    shuffled = GridSampler(space, seed=0)
    assert sorted(map(repr, (shuffled.sample() for _ in range(6)))) == sorted(map(repr, seen))


def test_tpe_concentrates_on_good_regions_and_uses_the_highest_level() -> None:
    space = SearchSpace.from_dict(
        {"x": {"type": "float", "low": 0, "high": 1}, "layers": {"values": [[8], [8, 8], [16]]}}
    )
    sampler = TPESampler(space, seed=0, min_observations=10)
    rng = np.random.default_rng(0)
    for _ in range(40):  # plenty of cheap low-level observations: best near x = 0.2
        c = {"x": float(rng.uniform()), "layers": [(8,), (8, 8), (16,)][rng.integers(3)]}
        sampler.observe(c, epochs=1, score=abs(c["x"] - 0.2))
    assert sampler._level() == 1
    for _ in range(12):  # a few expensive ones: best near x = 0.8
        c = {"x": float(rng.uniform()), "layers": (16,)}
        sampler.observe(c, epochs=9, score=abs(c["x"] - 0.8))
    assert sampler._level() == 9
    proposals = [sampler.sample() for _ in range(30)]
    xs = np.array([p["x"] for p in proposals])
    assert np.median(np.abs(xs - 0.8)) < np.median(np.abs(xs - 0.2))
    assert all(p["layers"] in [(8,), (8, 8), (16,)] for p in proposals)
    again = pickle.loads(pickle.dumps(sampler))
    assert set(again.sample()) == {"x", "layers"}
