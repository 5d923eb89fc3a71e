"""What every report kind's options share: the base model, and its errors as manifest problems.

:class:`KindOptions` is the base of each kind's options model (frozen, unknown
keys are errors); :func:`validate_options` turns pydantic's errors into
:class:`ReportOptionError` s that name their option, with a did-you-mean for
unknown keys. Re-exported by :mod:`reports.kinds`.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from core.errors import unknown_name

#: Option value asking a report to choose for itself (e.g. the sweep axis to group runs by).
AUTO = "auto"


class OptionTypeError(TypeError):
    """An option that takes a list was given a string; ``key`` names it."""

    def __init__(self, message: str, key: str):
        super().__init__(message)
        self.key = key


class KindOptions(BaseModel):
    """Base of every kind's options: frozen, unknown keys are errors, lists become tuples.

    Subclasses set :attr:`kind` and validate each value with a
    ``field_validator`` raising :meth:`invalid` (so that an error names its option).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The report kind these options belong to (used in messages).
    kind: ClassVar[str] = "report"

    @model_validator(mode="before")
    @classmethod
    def _no_string_for_a_list(cls, data: Any) -> Any:
        errors = cls.strings_for_lists(data)
        if errors:
            raise errors[0]
        return data

    @classmethod
    def strings_for_lists(cls, data: Any) -> list[OptionTypeError]:
        """An error for each option of ``data`` that takes a list but was given a string.

        Pydantic would not take a string for a tuple either, but a string is
        the one mistake worth a ``TypeError`` of its own ("write ["x"], not "x"").
        """
        if not isinstance(data, Mapping):
            return []
        return [OptionTypeError(f"The {key!r} option of {cls.kind} must be a list, not a string. "
                                f"Got {value!r} instead.", key)
                for key, value in data.items()
                if key in cls.model_fields and isinstance(value, str)
                and _takes_a_sequence(cls.model_fields[key].annotation)]

    @classmethod
    def invalid(cls, key: str, expected: str, got: Any) -> ValueError:
        """The error for option ``key``: ``The 'key' option of <kind> must be <expected>. Got <got> instead.``"""
        return ValueError(f"The {key!r} option of {cls.kind} must be {expected}. Got {got!r} instead.")


def _takes_a_sequence(annotation: Any) -> bool:
    arms = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, _UnionType) \
        else (annotation,)
    return any(typing.get_origin(a) in (tuple, list) for a in arms)


_UnionType = type(int | None)


class ReportOptionError(ValueError):
    """A report option is unknown or has a value its kind rejects.

    Attributes
    ----------
    key : str or None
        The top-level option concerned (``None``: the options as a whole).
    found : object
        The offending value when the message does not show it, else ``...``.
    errors : tuple of ReportOptionError
        Every problem found, this one first when there is only one.
    """

    def __init__(self, message: str, key: str | None, *, found: Any = ...,
                 errors: tuple[ReportOptionError, ...] = ()):
        super().__init__(message)
        self.key = key
        self.found = found
        self.errors = tuple(errors) or (self,)


def validate_options(kind: str, model: type[KindOptions], options: Mapping[str, Any] | None) -> KindOptions:
    """``options`` validated by ``model``, the options model of report kind ``kind``.

    Raises
    ------
    ReportOptionError
        One per problem (all of them, in ``errors``), see :func:`reports.kinds.kind_options`.
    """
    options = dict(options or {})
    strings = model.strings_for_lists(options)
    errors = [ReportOptionError(str(e), e.key) for e in strings]
    try:
        validated = model.model_validate({k: v for k, v in options.items() if k not in {e.key for e in strings}})
    except ValidationError as exc:
        errors += [_option_error(kind, model, e) for e in exc.errors()]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ReportOptionError("; ".join(str(e) for e in errors), errors[0].key, errors=tuple(errors))
    return validated


def _option_error(kind: str, model: type[BaseModel], error: Mapping[str, Any]) -> ReportOptionError:
    """One pydantic error as a :class:`ReportOptionError` naming its option."""
    loc = tuple(error["loc"])
    key = str(loc[0]) if loc else None
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        known = _known_keys(model, loc[:-1])
        what = f"{kind} option" if len(loc) == 1 else f"{kind} option {_dotted(loc[:-1])!r} key"
        return ReportOptionError(unknown_name(what, str(loc[-1]), known), key, found=error["input"])
    message = error["msg"].removeprefix("Value error, ")
    # pydantic's own messages do not show the value; those of KindOptions.invalid do
    found = error["input"] if error["type"] != "value_error" else ...
    if loc and message.startswith(f"The {key!r} option of {kind} "):
        return ReportOptionError(message, key, found=found)
    where = f"{kind} option {_dotted(loc)!r}: " if loc else f"{kind} options: "
    return ReportOptionError(where + message, key, found=found)


def _dotted(loc: tuple) -> str:
    """``("families", 0, "feature")`` -> ``"families[0].feature"``."""
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _known_keys(model: Any, loc: tuple) -> list[str]:
    """Field names of the model found at ``loc`` inside ``model`` (through optional and tuple fields)."""
    target = model
    for step in loc:
        if isinstance(step, str):
            fields = getattr(target, "__pydantic_fields__", {})
            if step not in fields:
                return []
            target = _element(fields[step].annotation)
    return list(getattr(target, "__pydantic_fields__", {}))


def _element(annotation: Any) -> Any:
    """The model inside ``X``, ``X | None``, ``tuple[X, ...]`` or a mix of them."""
    for arm in typing.get_args(annotation) or (annotation,):
        inner = _element(arm) if typing.get_args(arm) else arm
        if hasattr(inner, "__pydantic_fields__"):
            return inner
    return annotation
