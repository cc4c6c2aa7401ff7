"""Quiet start-up: TensorFlow's C++ and absl chatter kept off the terminal of the app and the CLI.

On a laptop without a GPU, importing TensorFlow prints "failed call to cuInit", "Could not find
cuda drivers" and oneDNN notices that look like failures. ``quiet_tensorflow()`` imports it with
the process's stderr (file descriptor 2, where C++ writes) diverted, shows what was diverted only
if the import fails, and keeps later C++ logging to fatal errors. ``--verbose`` skips all of it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile

_quiet = False


@contextlib.contextmanager
def native_stderr_silenced():
    """Divert file descriptor 2 (C/C++ stderr) while the block runs; replay it if the block raises.

    Only for short, one-off steps: output of other threads in that window is diverted too."""
    if not _quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quiet_tensorflow(verbose: bool = False) -> None:
    """Import TensorFlow without its start-up logging (unless ``verbose``); later steps that load native
    code (TFLite's delegate) use ``native_stderr_silenced`` too."""
    global _quiet
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        return
    _quiet = True
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # C++ logging: fatal errors only
    with native_stderr_silenced():
        import tensorflow as tf
    tf.get_logger().setLevel(logging.ERROR)
    with contextlib.suppress(ImportError):
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
