"""Where the notebook code is running: a Jupyter kernel, plain IPython, or plain Python.

Never imports IPython itself: importing it costs ~90 ms in a fresh process, and
when it is not already loaded there is no shell to talk to anyway.
"""
from __future__ import annotations

import sys
from typing import Any


def ipython() -> Any | None:
    """The running IPython shell, or None outside IPython."""
    module = sys.modules.get("IPython")
    if module is None:
        return None
    return module.get_ipython()


def kernel_shell() -> Any | None:
    """The shell when running inside a Jupyter kernel (it can display widgets), else None."""
    shell = ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        return shell
    return None


def user_namespace() -> dict:
    """The notebook's global namespace (IPython's user_ns, or `__main__` in plain Python)."""
    shell = ipython()
    if shell is not None:
        return shell.user_ns
    main = sys.modules.get("__main__")
    return vars(main) if main is not None else {}


def client_is_interactive() -> bool:
    """Whether the current request comes from a person at a notebook front end.

    JupyterLab, Notebook and VS Code send `allow_stdin: true` with each execute
    request; batch clients (nbclient/papermill, nbconvert, nbval) send `false`
    because nobody is there to answer `input()`. Outside a kernel: interactive.
    """
    shell = kernel_shell()
    if shell is None:
        return True
    kernel = shell.kernel
    try:
        parent = kernel.get_parent("shell") or {}
        return bool(parent.get("content", {}).get("allow_stdin", True))
    except Exception:  # older/newer ipykernel without get_parent(channel)
        return bool(getattr(kernel, "_allow_stdin", True))
