"""The synthetic fingerprint generator: deterministic, shaped like a 500 ppi sensor image,
different fingers differ and impressions of one finger vary."""

from __future__ import annotations

import numpy as np

from device_mocks.fingerprints import FingerprintGenerator, orientation_field


def test_same_seed_gives_identical_pixels() -> None:
    a = FingerprintGenerator(5).impression(3, 1)
    b = FingerprintGenerator(5).impression(3, 1)
    assert np.array_equal(a, b)


def test_other_seed_gives_other_finger() -> None:
    a = FingerprintGenerator(5).impression(3, 0).astype(float)
    b = FingerprintGenerator(6).impression(3, 0).astype(float)
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.3


def test_impression_shape_type_and_polarity() -> None:
    img = FingerprintGenerator(1).impression(1, 0)
    assert img.shape == (288, 256) and img.dtype == np.uint8
    # ridges are dark on a light background, with full ridge/valley contrast
    assert img.min() < 80 and img.max() > 200
    custom = FingerprintGenerator(1).impression(1, 0, size=(400, 300))
    assert custom.shape == (400, 300)


def test_impressions_of_one_finger_differ() -> None:
    gen = FingerprintGenerator(2)
    a, b = gen.impression(4, 0), gen.impression(4, 1)
    assert not np.array_equal(a, b)
    # rotation/translation/distortion: pixel-wise they are far from identical
    assert np.mean(np.abs(a.astype(int) - b.astype(int))) > 20


def test_lower_quality_adds_noise() -> None:
    gen = FingerprintGenerator(2)
    good, poor = gen.impression(4, 0), gen.impression(4, 0, quality=0.2)
    lap = lambda im: np.abs(np.diff(im.astype(float), axis=1)).mean()  # noqa: E731
    assert lap(poor) != lap(good)
    assert poor.std() != good.std()


def test_sherlock_monro_field_turns_half_a_turn_around_a_core() -> None:
    theta = orientation_field((101, 101), cores=[(50.0, 50.0)], deltas=[])
    # around a core (loop) the ridge direction turns by pi over a full circle
    angles = [theta[int(50 + 30 * np.sin(t)), int(50 + 30 * np.cos(t))] for t in np.linspace(0, 2 * np.pi, 64)]
    unwrapped = np.unwrap(np.array(angles) * 2) / 2
    assert abs(abs(unwrapped[-1] - unwrapped[0]) - np.pi) < 0.3


def test_masters_are_cached_per_generator() -> None:
    gen = FingerprintGenerator(9)
    assert gen.master(1) is gen.master(1)
    assert gen.master(1) is not gen.master(2)


def test_finger_ids_of_people_do_not_collide() -> None:
    from device_mocks.fingerprints import finger_id

    ids = {finger_id(person, pos) for person in range(50) for pos in range(1, 11)}
    assert len(ids) == 500
