"""`dbutils.widgets`: notebook parameters.

Two modes, picked on every call from `course.runtime.context`:

* Interactive (no task context, e.g. JupyterLab): each declaration displays a
  labelled ipywidget (Text, Dropdown, Combobox, SelectMultiple) and `get`
  returns what the learner picked in it. Re-running a declaration with the same
  kind and choices reuses the widget and keeps the picked value (as Databricks
  keeps a widget's value); different kind or choices replace it.
* Under the runner: the task's `parameters` win over declared defaults, `get`
  also answers parameters no widget declared, and nothing is displayed (no
  dead widget views in output notebooks).

ipywidgets is imported only when a widget is actually displayed.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

from course.runtime import context, shell

STRICT_KINDS = ("dropdown", "multiselect")  # values must be among the choices

# Widget values a `%run ./child $name="value"` passes to the notebook it includes: the
# innermost %run's arguments win over task parameters and declared widgets.
_argument_frames: list[dict[str, str]] = []


def push_arguments(values: dict[str, str]) -> None:
    _argument_frames.append({str(k): str(v) for k, v in values.items()})


def pop_arguments() -> None:
    _argument_frames.pop()


def _argument(name: str) -> str | None:
    for frame in reversed(_argument_frames):
        if name in frame:
            return frame[name]
    return None


class InputWidgetNotDefined(LookupError):
    """`get` of a name that is neither a declared widget nor a task parameter (Databricks' name)."""


class InvalidWidgetValue(ValueError):
    """A dropdown/multiselect value (default or task parameter) that is not among its choices."""


class _Widget:
    """One declared widget; `view` is its ipywidget in interactive mode."""

    def __init__(self, kind: str, name: str, default: str, choices: tuple[str, ...], label: str | None) -> None:
        self.kind, self.name, self.default, self.choices, self.label = kind, name, default, choices, label
        self.view: Any = None           # the ipywidget, interactive mode only
        self.shown: Any = None          # what is displayed: the view, or a box with the view and a hint
        self.handle: Any = None         # its DisplayHandle: a removed widget's output becomes a note
        self.shown_in_cell: Any = None  # execution_count of the cell that last displayed it

    def live_value(self) -> str:
        if self.view is None:
            return self.default
        value = self.view.value
        if self.kind == "multiselect":
            return ",".join(value)
        return "" if value is None else str(value)


def _parts(kind: str, value: str) -> list[str]:
    # A multiselect value is its selection joined with commas.
    return value.split(",") if kind == "multiselect" else [value]


def _check_choice(kind: str, name: str, value: str, choices: Sequence[str], what: str) -> None:
    bad = [part for part in _parts(kind, value) if part not in choices]
    if bad:
        detail = f" (not among them: {bad})" if kind == "multiselect" else ""
        raise InvalidWidgetValue(
            f"{what} {value!r} for {kind} widget {name!r} is not among its choices {list(choices)}{detail}"
        )


def _make_view(kind: str, default: str, choices: tuple[str, ...], description: str) -> Any:
    import ipywidgets  # ~110 ms: only when a learner actually gets a widget

    common = {"description": description, "style": {"description_width": "initial"}}
    if kind == "text":
        return ipywidgets.Text(value=default, **common)
    if kind == "dropdown":
        return ipywidgets.Dropdown(options=choices, value=default, **common)
    if kind == "combobox":
        return ipywidgets.Combobox(options=choices, value=default, ensure_option=False, **common)
    return ipywidgets.SelectMultiple(options=choices, value=tuple(_parts(kind, default)), **common)


def _make_shown(kind: str, view: Any, choices: tuple[str, ...]) -> Any:
    """A combobox is an input with a list that opens on focus: without a word it looks like a
    text box, so it is shown with its choices and that anything may be typed."""
    if kind != "combobox":
        return view
    import ipywidgets

    hint = ipywidgets.HTML(f"<small>&#9662; pick {', '.join(choices)}, or type any value</small>")
    return ipywidgets.HBox([view, hint])


def _close(view: Any) -> None:
    # Closing the model removes its views from the page; its style and layout
    # models are separate comms, closed too so nothing lingers in the kernel.
    for model in (getattr(view, "style", None), getattr(view, "layout", None), view):
        if model is not None:
            model.close()


def _close_widget(widget: "_Widget") -> None:
    # The outputs that showed it now say so: a saved view of a closed model would read
    # "Error displaying widget: model not found" once the notebook is reopened.
    if widget.handle is not None:
        from IPython.display import HTML

        widget.handle.update(HTML(f"<small>(widget <code>{widget.name}</code> removed)</small>"))
    if widget.shown is not None and widget.shown is not widget.view:
        for child in widget.shown.children:
            if child is not widget.view:
                _close(child)
        _close(widget.shown)
    _close(widget.view)


class Widgets:
    """dbutils.widgets"""

    def __init__(self) -> None:
        self._widgets: dict[str, _Widget] = {}
        self._warned_get_argument = False

    # --- declarations (Databricks signature: name, defaultValue, choices, label) ---

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:
        self._declare("text", name, defaultValue, None, label)

    def dropdown(self, name: str, defaultValue: str, choices: Sequence[str], label: str | None = None) -> None:
        self._declare("dropdown", name, defaultValue, choices, label)

    def combobox(self, name: str, defaultValue: str, choices: Sequence[str], label: str | None = None) -> None:
        self._declare("combobox", name, defaultValue, choices, label)

    def multiselect(self, name: str, defaultValue: str, choices: Sequence[str], label: str | None = None) -> None:
        self._declare("multiselect", name, defaultValue, choices, label)

    def _declare(self, kind: str, name: str, default: str, choices: Sequence[str] | None,
                 label: str | None) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"widget name must be a non-empty string, got {name!r}")
        if not isinstance(default, str):
            raise TypeError(f"defaultValue of widget {name!r} must be a string, got {type(default).__name__}")
        if choices is not None:
            if isinstance(choices, str) or not all(isinstance(c, str) for c in choices) or not choices:
                raise TypeError(f"choices of widget {name!r} must be a non-empty list of strings, got {choices!r}")
        choices = tuple(choices or ())
        if kind in STRICT_KINDS:
            _check_choice(kind, name, default, choices, "Default value")

        ctx = context.current()
        if ctx is not None:
            if kind in STRICT_KINDS and name in ctx.parameters:
                _check_choice(kind, name, ctx.parameters[name], choices, "Parameter value")
            self._widgets[name] = _Widget(kind, name, default, choices, label)
            return
        self._declare_interactive(_Widget(kind, name, default, choices, label))

    def _declare_interactive(self, widget: _Widget) -> None:
        old = self._widgets.get(widget.name)
        kernel = shell.kernel_shell()
        if kernel is None:  # plain Python / terminal IPython: nothing to display
            self._widgets[widget.name] = widget
            return
        description = widget.label or widget.name
        if old is not None and old.view is not None and (old.kind, old.choices) == (widget.kind, widget.choices):
            widget.view, widget.shown, widget.shown_in_cell = old.view, old.shown, old.shown_in_cell  # keep the pick
            widget.handle = old.handle
            widget.view.description = description
        else:
            if old is not None and old.view is not None:
                _close_widget(old)
            widget.view = _make_view(widget.kind, widget.default, widget.choices, description)
            widget.shown = _make_shown(widget.kind, widget.view, widget.choices)
        self._widgets[widget.name] = widget
        # Show it once per cell run: a rerun cell lost its old output, a second
        # declaration in the same cell would only duplicate it.
        if widget.shown_in_cell != kernel.execution_count:
            from IPython.display import display

            widget.handle = display(widget.shown, display_id=True)
            widget.shown_in_cell = kernel.execution_count

    # --- reading -----------------------------------------------------------------

    def get(self, name: str) -> str:
        """The widget's current value (a string; multiselect: the selection joined with ',')."""
        passed = _argument(name)
        if passed is not None:
            return passed
        ctx = context.current()
        if ctx is not None and name in ctx.parameters:
            return ctx.parameters[name]
        widget = self._widgets.get(name)
        if widget is not None:
            return widget.live_value()
        defined = sorted(set(self._widgets) | set(ctx.parameters if ctx else ()))
        raise InputWidgetNotDefined(
            f"No input widget named {name} is defined. "
            f"Defined: {', '.join(defined) if defined else 'none'}. "
            "Declare it first, e.g. dbutils.widgets.text(name, defaultValue), or pass it as a task parameter."
        )

    def getAll(self) -> dict[str, str]:
        """Every widget value by name (under the runner: declared defaults overlaid with parameters)."""
        values = {name: widget.live_value() for name, widget in self._widgets.items()}
        ctx = context.current()
        if ctx is not None:
            values.update(ctx.parameters)
        for frame in _argument_frames:
            values.update(frame)
        return values

    def getArgument(self, name: str, default: str | None = None) -> str | None:
        """Deprecated on Databricks: like `get`, but returns `default` for an undefined name."""
        if not self._warned_get_argument:
            self._warned_get_argument = True
            warnings.warn(
                "dbutils.widgets.getArgument is deprecated: declare the widget with "
                "dbutils.widgets.text() or dbutils.widgets.dropdown() and read it with dbutils.widgets.get().",
                FutureWarning, stacklevel=2,
            )
        try:
            return self.get(name)
        except InputWidgetNotDefined:
            return default

    # --- removal -----------------------------------------------------------------

    def remove(self, name: str) -> None:
        widget = self._widgets.pop(name, None)
        if widget is None:
            ctx = context.current()
            if ctx is not None and name in ctx.parameters:
                return  # a task parameter without a widget: nothing to remove
            raise InputWidgetNotDefined(f"No input widget named {name} is defined, so it cannot be removed.")
        if widget.view is not None:
            _close_widget(widget)

    def removeAll(self) -> None:
        for name in list(self._widgets):
            self.remove(name)

    def __repr__(self) -> str:
        return ("dbutils.widgets: text, dropdown, combobox, multiselect (name, defaultValue[, choices], label), "
                "get(name), getAll(), remove(name), removeAll()")
