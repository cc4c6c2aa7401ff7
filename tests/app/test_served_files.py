"""App outputs written as files: one file per content, never half-written, old ones cleaned up."""
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from painting_classifier.app import served_files
from painting_classifier.app.served_files import ServedImages


def an_image(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8))


def test_same_image_same_file_other_image_other_file(tmp_path):
    served = ServedImages(tmp_path)
    first, again, other = served.jpeg(an_image(0)), served.jpeg(an_image(0)), served.jpeg(an_image(1))
    assert first == again != other
    assert Image.open(first).size == (160, 120)


def test_simultaneous_requests_for_one_image_all_get_a_whole_file(tmp_path):
    served = ServedImages(tmp_path)
    img = an_image(2)
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: served.jpeg(img), range(40)))
    assert len(set(paths)) == 1
    Image.open(paths[0]).load()  # complete JPEG
    assert [p.name for p in tmp_path.iterdir()] == [os.path.basename(paths[0])]  # no staging files left


def test_files_older_than_the_cache_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(served_files, "PRUNE_EVERY", 2)
    served = ServedImages(tmp_path)
    old = served.jpeg(an_image(3))
    long_ago = time.time() - served_files.MAX_AGE_S - 10
    os.utime(old, (long_ago, long_ago))
    served.jpeg(an_image(4))  # the second write cleans up
    assert not os.path.exists(old) and len(list(tmp_path.iterdir())) == 1


def test_a_file_handed_out_again_is_kept_by_the_next_clean_up(tmp_path, monkeypatch):
    monkeypatch.setattr(served_files, "PRUNE_EVERY", 2)
    served = ServedImages(tmp_path)
    reused = served.jpeg(an_image(5))
    long_ago = time.time() - served_files.MAX_AGE_S - 10
    os.utime(reused, (long_ago, long_ago))
    assert served.jpeg(an_image(5)) == reused  # handed out again just now
    served.jpeg(an_image(6))  # the second write cleans up
    assert os.path.exists(reused)
