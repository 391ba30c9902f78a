"""Reading cases: JSON or dicts in, validated ``Case`` or a ``CaseError`` listing every problem out.

A batch is JSON Lines; :func:`read_cases` yields one result per non-blank line, in order, with
the line number on every error, so that nothing is dropped silently.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, Union, get_args, get_origin

import jiter
from pydantic import BaseModel, ValidationError

from .batch import Numbered, numbered
from .errors import ArgumentError, CaseError, Problem, did_you_mean
from .model import Case
from .tabular import Kind

__all__ = [
    "CASE_COLUMNS",
    "NumberedCases",
    "check_batch",
    "json_object",
    "parse_case",
    "read_cases",
    "read_numbered",
    "readable_id",
]

T = TypeVar("T")

#: The fields a spreadsheet of cases (a bank's file) may give, as case field paths, and how each
#: cell is read.
#: ``borrower.phones`` and ``borrower.addresses`` hold several values separated by ``;``.
CASE_COLUMNS: dict[str, Kind] = {
    "case_id": "text",
    "loan.loan_id": "text",
    "loan.product": "text",
    "loan.principal": "amount",
    "loan.currency": "text",
    "loan.annual_rate": "rate",
    "loan.start_date": "date",
    "loan.term_months": "int",
    "loan.repayment": "text",
    "borrower.party_id": "text",
    "borrower.name": "text",
    "borrower.phones": "list",
    "borrower.addresses": "list",
    "borrower.region": "text",
    "borrower.language": "text",
    "borrower.timezone": "text",
    "emergency_contact.name": "text",
    "emergency_contact.phones": "list",
    "delinquency.dpd": "int",
    "delinquency.overdue_principal": "amount",
    "delinquency.overdue_interest": "amount",
    "delinquency.penalty_interest": "amount",
    "delinquency.fees": "amount",
    "delinquency.outstanding_principal": "amount",
    "delinquency.as_of": "date",
    "card.credit_limit": "amount",
    "card.statement_balance": "amount",
    "card.minimum_payment_due": "amount",
    "card.statement_date": "date",
    "card.payment_due_date": "date",
    "rating": "text",
}


def parse_case(data: str | bytes | Mapping[str, Any], *, line: int | None = None) -> Case:
    """Validate one case given as JSON text or as a mapping.

    Args:
        data: The case as a JSON object (text or bytes) or an already-decoded mapping.
        line: The input line it came from, copied into the error.

    Returns:
        The validated, immutable case.

    Raises:
        CaseError: With the case id (when readable) and every problem found.
    """
    if isinstance(data, str | bytes):
        # Read once by jiter to refuse what pydantic's parser would let through: a key given
        # twice (the last would win unseen), lone surrogates, NaN, nesting beyond 200 levels.
        # Then pydantic validates the text itself (in compiled code, without building dicts);
        # the rare failing line is validated again from the parsed value, for its problems.
        try:
            raw: Any = jiter.from_json(
                data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data,
                catch_duplicate_keys=True,
                allow_inf_nan=False,
                cache_mode="keys",  # values are rarely repeated; keys always are
            )
        except ValueError as exc:
            problem = Problem("", "invalid_json", f"not valid JSON: {exc}")
            raise CaseError(None, [problem], line=line) from None
        try:
            return Case.model_validate_json(data)
        except ValidationError:
            pass
    else:
        raw = data
    if not isinstance(raw, Mapping):
        problem = Problem("", "not_an_object", f"a case is a JSON object, not {type(raw).__name__}")
        raise CaseError(None, [problem], line=line)
    try:
        return Case.model_validate(raw)
    except ValidationError as exc:
        raise CaseError(readable_id(raw), problems_of(exc, Case), line=line) from None


def readable_id(raw: Mapping[str, Any]) -> str | None:
    """The case id to name in an error, if it is one a record can carry."""
    case_id = raw.get("case_id")
    if not isinstance(case_id, str) or not 0 < len(case_id) <= 128:
        return None
    try:
        case_id.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a Python caller
        return None
    return case_id


def read_cases(lines: Iterable[str | bytes]) -> Numbered[Case | CaseError]:
    """Yield a ``Case`` or a ``CaseError`` for each non-blank line of a JSON Lines stream.

    Blank lines are separators, not records, and are skipped; every other line yields exactly
    one result, in input order, and errors carry their 1-based line number. The iterator's
    ``line`` is the line of the result it yielded last, so that a consumer (``decide_many``)
    can put the line number on errors it finds later, such as a product the policy does not
    cover.
    """
    return Numbered(read_numbered(lines))


#: The type :func:`read_cases` returns (one numbered-record type: :class:`dunning.batch.Numbered`).
NumberedCases = Numbered


def read_numbered(
    lines: Iterable[str | bytes], *, start: int = 1
) -> Iterator[tuple[int, Case | CaseError]]:
    """Like :func:`read_cases`, with each result's line number (the first line is ``start``)."""
    check_batch(lines, "read_cases")
    return numbered(lines, _parse, start=start)


def _parse(text: str | bytes, line: int) -> Case:
    return parse_case(text, line=line)


def json_object(
    data: str | bytes | Mapping[str, Any], what: str, *, line: int | None = None
) -> Mapping[str, Any]:
    """One JSON line (or a mapping already read) as a mapping, with :func:`parse_case`'s refusals.

    Args:
        data: The line, or a mapping.
        what: What a line is, for the message (``a ledger line``).
        line: Its line number, copied into the error.

    Raises:
        CaseError: ``invalid_json`` (a key twice, a lone surrogate, NaN, too deep…) or
            ``not_an_object``.
    """
    raw: Any = data
    if isinstance(data, str | bytes):
        try:
            raw = jiter.from_json(
                data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data,
                catch_duplicate_keys=True,
                allow_inf_nan=False,
            )
        except ValueError as exc:
            problem = Problem("", "invalid_json", f"not valid JSON: {exc}")
            raise CaseError(None, [problem], line=line) from None
    if not isinstance(raw, Mapping):
        problem = Problem("", "not_an_object", f"{what} is a JSON object, not {type(raw).__name__}")
        raise CaseError(None, [problem], line=line)
    return raw


def check_batch(items: object, what: str) -> None:
    """Refuse, as an ``ArgumentError``, a batch that is one case or not iterable at all.

    A dict or a text is iterable too, by keys or characters: taken for a batch it would be read
    silently as something else.
    """
    if isinstance(items, str | bytes | Mapping | Case) or not isinstance(items, Iterable):
        raise ArgumentError(
            f"{what} takes an iterable of cases or lines (a list, a file, read_cases(...)), "
            f"not {type(items).__name__}"
        )


def problems_of(exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into problems with readable paths and messages."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        code = err["type"]
        message = err["msg"]
        if code == "extra_forbidden":
            message = _unknown_field_message(root, loc)
        elif code == "missing":
            message = f"required field {loc[-1]!r} is missing"
        problems.append(Problem(_path(loc), code, message))
    return problems


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _unknown_field_message(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    name = str(loc[-1])
    model = _model_at(root, loc[:-1])
    message = f"unknown field {name!r}"
    if model is not None:
        message += did_you_mean(name, model.model_fields)
    return message


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """Return the model at ``loc`` below ``root``, looking through optionals and tuples."""
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _model_in(model.model_fields[part].annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType, tuple, list):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
