"""Bad input a user can fix, told in one line.

:class:`InputError` is raised for what the user gave, not for a fault of the code: a malformed
list line, a label that is not a class, a folder or file that does not exist, a ``--ckpt_path
last`` no run folder holds. Its message names the file and line (or the option), says what was
expected and what to do. ``lightning-vid`` prints it on one line and exits with 2, as for a
bad config (``--debug`` or ``LIGHTNING_VID_DEBUG=1`` shows the traceback).

It derives from ``ValueError`` (and :class:`MissingInput` also from ``FileNotFoundError``), so
code that catches those keeps working.
"""

from __future__ import annotations

from lightning.fabric.utilities.exceptions import MisconfigurationException

#: ``LIGHTNING_VID_DEBUG=1`` (or ``--debug``): a user error shows its traceback
DEBUG_VARIABLE = "LIGHTNING_VID_DEBUG"


class InputError(ValueError):
    """Bad input (a list, a folder, an option): the message says where and what to do."""


class MissingInput(InputError, FileNotFoundError):
    """A file or folder the input names does not exist."""


#: errors in what the user gave (not in the code): one line and exit status 2
USER_ERRORS = (InputError, MisconfigurationException)


def one_line(err: BaseException) -> str:
    """The one line ``lightning-vid`` prints for a user error (:data:`USER_ERRORS`)."""
    text = " ".join(str(err).split())
    if isinstance(err, MisconfigurationException) and any(
            word in text.lower() for word in ("accelerator", "gpu backend", "cuda")):
        text = f"--trainer.accelerator: {text} (--trainer.accelerator cpu or auto runs here)"
    return f"lightning-vid: error: {text} (--debug or {DEBUG_VARIABLE}=1 shows the traceback)"
