"""Images the app returns, written as files that are never seen half-written.

Gradio saves a PIL image output into its cache under a name made from the image's content, and
writes it in place (``save_pil_to_cache``, Gradio 6.31): when two requests return the same image
at once (a class uploading the same photo), one browser can fetch a file the other request is
still writing, and gets a broken image. A *file path* output is copied into the cache by
``save_file_to_cache``, which writes under a temporary name and renames. So outputs are encoded
here once, written the same way, and returned as paths; files older than ``MAX_AGE_S`` are
removed as new ones arrive, so the folder stays small on a long-running server.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

MAX_AGE_S = 3600  # as long as the app keeps its Gradio cache
PRUNE_EVERY = 100  # files written between two clean-ups


class ServedImages:
    """A folder of JPEG outputs named by their content."""

    def __init__(self, folder: Path | None = None):
        """``folder``: where to write; by default a temporary folder removed when the app exits."""
        if folder is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="painting_classifier-outputs-")
            folder = self._temporary.name
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._written = 0
        self._lock = threading.Lock()

    def jpeg(self, img: Image.Image, quality: int = 90) -> str:
        """``img`` as a JPEG file in the folder (written once per content, atomically); its path."""
        buffer = io.BytesIO()
        img.convert("RGB").save(buffer, "JPEG", quality=quality)
        return self.copy(buffer.getvalue(), ".jpg")

    def copy(self, data: bytes, suffix: str) -> str:
        """``data`` as a file in the folder, named by its content (so its name tells nothing else); its path."""
        path = self.folder / f"{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
        try:
            os.utime(path)  # handed out again: young again, so pruning keeps it
        except FileNotFoundError:
            staging = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
            staging.write_bytes(data)
            staging.replace(path)
            self._count_and_prune()
        return str(path)

    def _count_and_prune(self) -> None:
        with self._lock:
            self._written += 1
            if self._written % PRUNE_EVERY:
                return
        oldest_kept = time.time() - MAX_AGE_S
        for entry in os.scandir(self.folder):
            try:
                if entry.stat().st_mtime < oldest_kept:
                    os.unlink(entry.path)
            except OSError:  # removed meanwhile by another request
                pass
