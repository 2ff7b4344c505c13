"""A lean call path into component functions through wasmtime's C API.

`wasmtime.component.Func.__call__` looks the function type up and converts every
argument generically on each call (about 20-80 us). The hot functions here have fixed
signatures, so the argument array is built once and only the string slot is refilled:
the string points straight at the UTF-8 bytes of a Python `bytes` (the C API borrows
arguments), and the result is read from a preallocated slot.

Only the value kinds our WIT uses are supported: enum constants and one string in;
s64, u64, u32 or (option of) string out.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any, Callable

from wasmtime import _ffi as ffi
from wasmtime import _bindings as capi
from wasmtime.component._enter import maybe_raise_last_exn
from wasmtime import WasmtimeError

# The same C function without ctypes argument conversion: every argument is prebuilt.
_call = ctypes.CDLL(capi.dll._name).wasmtime_component_func_call
_call.restype = ctypes.c_void_p
_call.argtypes = None
_error_p = ctypes.POINTER(capi.wasmtime_error_t)
_val_delete = capi._wasmtime_component_val_delete
_KIND_STRING = ffi.WASMTIME_COMPONENT_STRING.value
_KIND_ENUM = ffi.WASMTIME_COMPONENT_ENUM.value
_KIND_OPTION = ffi.WASMTIME_COMPONENT_OPTION.value
_byref = ctypes.byref
_string_at = ctypes.string_at


def _bytes_address_finder() -> Callable[[bytes], int]:
    """Where a bytes object's buffer starts. On CPython it sits at a fixed offset from the
    object (checked here on a probe); elsewhere ask ctypes, which costs about 1 us more."""
    offset = sys.getsizeof(b"") - 1
    probe = b"fast-litellm probe"
    if sys.implementation.name == "cpython" and _string_at(id(probe) + offset, len(probe)) == probe:
        return lambda data: id(data) + offset
    return lambda data: ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0


_address_of = _bytes_address_finder()


_KIND_PLAIN = ffi.WASMTIME_COMPONENT_U64.value


def _release(out_ref: Any, out: Any) -> None:
    # The next call drops whatever the result slot holds, so a freed value must not
    # stay behind in it: free it, then mark the slot as a plain integer.
    _val_delete(out_ref)
    out.kind = _KIND_PLAIN


class Enum:
    """An enum case passed as a constant argument (e.g. the encoding)."""

    def __init__(self, case: str) -> None:
        self.case = case.encode()


STRING = object()  # marks the one variable string argument


def bind(func: Any, store: Any, args: tuple, result: str) -> Callable[[str], Any]:
    """Return `call(text)` invoking `func` with `args`, STRING replaced by `text`.

    `result` is one of "s64", "u64", "u32", "string", "option-string".
    """
    n = len(args)
    params = (ffi.wasmtime_component_val_t * n)()
    keep = []  # buffers the C side points into must outlive the binding
    string_slot = None
    for i, arg in enumerate(args):
        if arg is STRING:
            params[i].kind = _KIND_STRING
            string_slot = params[i].of.string
            # plain integer views of the slot's size and data fields: cheap to refill
            slot_size = ctypes.c_size_t.from_address(ctypes.addressof(string_slot))
            slot_data = ctypes.c_size_t.from_address(
                ctypes.addressof(string_slot) + ffi.wasm_byte_vec_t.data.offset)
        elif isinstance(arg, Enum):
            buf = ctypes.create_string_buffer(arg.case, len(arg.case))
            keep.append(buf)
            params[i].kind = _KIND_ENUM
            params[i].of.enumeration.size = len(arg.case)
            params[i].of.enumeration.data = ctypes.cast(buf, ctypes.POINTER(ffi.wasm_byte_t))
        else:
            raise TypeError(f"unsupported constant argument {arg!r}")
    if string_slot is None:
        raise TypeError("bind() needs one STRING argument")
    out = ffi.wasmtime_component_val_t()
    func_ref = _byref(func._func)
    out_ref = _byref(out)
    context = store._context()
    of = out.of
    n_args, one = ctypes.c_size_t(n), ctypes.c_size_t(1)

    def fail(err: int) -> None:
        error = WasmtimeError._from_ptr(ctypes.cast(err, _error_p))
        maybe_raise_last_exn()
        raise error

    def run(text: str) -> None:
        """Fill the string slot and call; the result is left in `out`."""
        data = text.encode()
        slot_size.value = len(data)
        slot_data.value = _address_of(data)  # borrowed by the call; `data` outlives it
        err = _call(func_ref, context, params, n_args, out_ref, one)
        if err:
            fail(err)

    if result == "s64":
        def call(text: str) -> int:
            run(text)
            return of.s64
    elif result == "u64":
        def call(text: str) -> int:
            run(text)
            return of.u64
    elif result == "u32":
        def call(text: str) -> int:
            run(text)
            return of.u32
    elif result == "string":
        def call(text: str) -> str:
            run(text)
            vec = of.string
            try:
                return _string_at(vec.data, vec.size).decode()
            finally:
                _release(out_ref, out)
    elif result == "option-string":
        def call(text: str) -> str | None:
            run(text)
            inner = of.option
            if not inner:  # none: nothing was allocated
                out.kind = _KIND_PLAIN
                return None
            try:
                vec = inner.contents.of.string
                return _string_at(vec.data, vec.size).decode()
            finally:
                _release(out_ref, out)
    else:
        raise ValueError(f"unsupported result kind {result!r}")
    call._keep = (params, keep, out, func)  # type: ignore[attr-defined]
    return call
