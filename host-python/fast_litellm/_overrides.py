"""Whether a selection would run litellm's own methods.

A plan serves a Router only while stock's selection would run litellm's own code: the
Router's pipeline methods (`_router_release.PIPELINE_METHODS`) and its strategy selector's
selection methods. Both are recorded at install, each checked to be a function of a litellm
module; a subclass, an instance attribute or a class-level patch (`mock.patch.object` on a
Router or on a selector class) that replaces one then shows as a difference.

When each is checked:
- at plan build: every recorded name, on the instance and on its class;
- per selection: the Router's and the selector's attribute counts (an instance-level patch
  adds an attribute; undoing it removes it) and the selector's few selection methods on its
  class, against what they were when the plan was built. A class-level patch of a Router
  pipeline method made after a plan was built is seen only when the plan is next rebuilt:
  checking some 50 names per selection would cost 1.6-3 µs of a 10-20 µs selection.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

# What stock's selectors run in a selection, called by the Router or by each other (a
# selector class records those it has)
SELECTION_METHODS = ("get_available_deployments", "async_get_available_deployments", "_get_available_deployments",
                     "_select_metadata_field", "_common_checks_available_deployment",
                     "_return_potential_deployments", "usage_counter_keys")
_NOT_OWN = object()  # recorded for a name that was not litellm's own at install: never matches


class _Recorded:
    """litellm's own methods, recorded by record() (install time)."""

    router_methods: dict = {}  # name -> function, of the Router pipeline
    selector_methods: dict = {}  # selector class -> its (name, function) selection methods


def litellm_own(value: Any) -> Any:
    """`value` if it is a function of a litellm module (as recorded at install), else a
    marker that matches nothing. None (a name the release lacks) stays None."""
    if value is None:
        return None
    module = getattr(value, "__module__", None) or ""
    return value if callable(value) and module.partition(".")[0] == "litellm" else _NOT_OWN


def record(router_class: Any, pipeline_methods: tuple, selector_classes: Any) -> None:
    _Recorded.router_methods = {name: litellm_own(getattr(router_class, name, None)) for name in pipeline_methods}
    _Recorded.selector_methods = {
        cls: tuple((name, litellm_own(getattr(cls, name))) for name in SELECTION_METHODS if hasattr(cls, name))
        for cls in selector_classes}


def router_overridden(router: Any) -> bool:
    """Would stock's selection on this Router run a pipeline method that is not litellm's?"""
    attributes, cls = router.__dict__, type(router)
    return any(name in attributes or getattr(cls, name, None) is not own
               for name, own in _Recorded.router_methods.items())


def router_method(name: str) -> Any:
    """The Router pipeline method `name` as recorded at install (litellm's own, or a marker
    that matches nothing)."""
    return _Recorded.router_methods.get(name, _NOT_OWN)


def selector_own(selector: Any) -> bool:
    """Are the selector's selection methods litellm's own, on its class and its instance?"""
    methods = _Recorded.selector_methods.get(type(selector))
    attributes = getattr(selector, "__dict__", None)
    if methods is None or attributes is None:
        return False
    cls = type(selector)
    return all(name not in attributes and getattr(cls, name) is own for name, own in methods)


def selector_watch(selector: Any) -> Callable[[Any], bool]:
    """A per-selection check that the Router's selector is still `selector`, unchanged
    since now: as many instance attributes (an instance-level patch adds one, undoing it
    removes it) and the same selection methods on its class (one C-level fetch)."""
    methods = _Recorded.selector_methods.get(type(selector))
    if methods is None or getattr(selector, "__dict__", None) is None:
        return lambda current: current is selector
    cls, size = type(selector), len(selector.__dict__)
    names = [name for name, _own_method in methods]
    read = operator.attrgetter(*names) if len(names) > 1 else (lambda cls: (getattr(cls, names[0]),))
    seen = read(cls)

    def unchanged(current: Any) -> bool:
        return current is selector and len(current.__dict__) == size and read(cls) == seen

    return unchanged
