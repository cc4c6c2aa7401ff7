"""A collection of one's own (``app.py --gallery DIR``, ``painting-classifier predict --gallery DIR``): a folder of
paintings, by any painters, indexed once and kept in the cache; indexed again only when its files change."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from ..config import default_cache_dir
from .gallery import Gallery
from .gallery_index import build_gallery
from .thumbnails import ALL

log = logging.getLogger(__name__)


def fingerprint(folder: Path) -> str:
    """What changes when a file of the folder is added, removed, replaced or renamed."""
    digest = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder).as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def collection_gallery(folder: str | Path, classes: list[str] = (), cache_dir: Path | None = None,
                       progress: bool = False) -> Gallery:
    """The gallery of ``folder`` (the data set's layout, or any folder with a CSV of file, artist, title), from the
    cache (``cache_dir/galleries``) or indexed now. ``ValueError`` with what is wrong for an unusable folder."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of paintings")
    out = Path(cache_dir or default_cache_dir()) / "galleries" / f"{folder.name}-{fingerprint(folder)}"
    if not (out / "gallery.json").is_file():
        indexed = build_gallery([folder], out, progress=progress, thumbnails=ALL)
        log.info("%s: %d paintings indexed (%d unreadable, %d duplicate files left out)", folder,
                 len(indexed.paintings), len(indexed.skipped), indexed.duplicates)
        for path, why in indexed.skipped:
            log.warning("skipped %s: %s", path, why)
    return Gallery(out, classes)

