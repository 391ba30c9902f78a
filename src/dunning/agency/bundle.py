"""Bundles: every case, event and record of a batch or a bank in one archive, for emergencies.

The seed's agency sends its data to the bank when case-data transmission fails.
:func:`export_bundle` writes a zip archive of the store's batches (each with its own manifest)
and the events of their cases, with ``MANIFEST.sha256`` listing the SHA-256 of every other
member; :func:`verify_bundle` checks an archive against it; :func:`import_bundle` verifies and
unpacks one into an empty directory as a store (``batches/…`` and ``events.jsonl``). Same
inputs, same bytes: members are written in name order with a fixed time stamp.

An archive is read with limits checked before anything is unpacked: at most 100,000 members, 4
GiB unpacked, no member compressed more than 200 to 1, none encrypted, and only the members a
bundle has — its manifest, ``bundle.json`` (checked field by field), ``events.jsonl`` and the
files of the batches ``bundle.json`` lists, each in its batch's manifest. Batch manifests are
read by one grammar (:func:`~dunning.agency.intake.parse_manifest`) in verify, import and intake.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..batch import bounded_lines
from ..errors import CaseError, ConfigError
from ..events import (
    ForceMajeureEvent,
    ForceMajeureReportEvent,
    IntakeEvent,
    ReconciliationEvent,
    ReportEvent,
    parse_event,
)
from .intake import (
    MANIFEST,
    IntakeFailed,
    is_bank_id,
    is_batch_file,
    parse_manifest,
    read_index,
    verify_manifest,
)

__all__ = ["BUNDLE_FORMAT", "Bundle", "export_bundle", "import_bundle", "verify_bundle"]

BUNDLE_FORMAT = "dunning-bundle/1"
MAX_MEMBERS = 100_000
#: What a bundle may unpack to: a bank's month is some hundred thousand cases and a few million
#: events, well under a gigabyte of JSON; four is room to spare, not a disk filled.
MAX_UNPACKED = 4 * 1024**3
#: How far a member may compress: JSON Lines of cases compress 10 to 30 times; a member that
#: unpacks to more than a megabyte at over 200 times its size is a bomb, not data.
MAX_RATIO = 200
_STAMP = (2000, 1, 1, 0, 0, 0)
_CHUNK = 1 << 20
_BATCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}-[0-9a-f]{16}$")
_LINE = re.compile(r"^([0-9a-f]{64})  (\S(?:.*\S)?)$")


@dataclass(frozen=True)
class Bundle:
    """What an archive holds (``bundle.json``).

    Attributes:
        path: The archive.
        bank: The bank exported (``None``: the batches named).
        batches: The batches, by id.
        cases: Cases in them.
        events: Event lines exported.
        digest: The archive's SHA-256.
    """

    path: Path
    bank: str | None
    batches: tuple[str, ...]
    cases: int
    events: int
    digest: str

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data."""
        return {
            "path": str(self.path),
            "bank": self.bank,
            "batches": list(self.batches),
            "cases": self.cases,
            "events": self.events,
            "digest": self.digest,
        }


def _refuse_overwriting(out: Path, store: Path, events: str | Path | None) -> None:
    """An archive is written over neither the event log nor anything inside the store."""
    if out.is_dir():
        raise ConfigError(f"{out} is a folder: name the archive's file")
    if events is not None and out.exists() and os.path.samefile(out, events):
        raise ConfigError(f"{out} is the event log: the archive would replace it")
    if out.resolve().is_relative_to(store.resolve()):
        raise ConfigError(f"{out} is inside the store {store}: write the archive elsewhere")


def export_bundle(
    store: str | Path,
    out: str | Path,
    *,
    events: str | Path | None = None,
    batches: tuple[str, ...] | list[str] = (),
    bank: str | None = None,
) -> Bundle:
    """Write the batches named (or every batch of ``bank``) and their events into an archive.

    Args:
        store: The agency's case store.
        out: The archive to write (replaced if it exists).
        events: The event log; its lines for the batches' cases, the batches' intake events
            and the bank's reports and reconciliations are exported (each line as it is).
        batches: Batch ids.
        bank: A bank: every batch of it.

    Raises:
        ConfigError: Nothing to export, an unknown batch, a damaged batch, an unreadable log,
            or an archive that would replace the event log or a file of the store.
    """
    root = Path(store) / "batches"
    _refuse_overwriting(Path(out), Path(store), events)
    chosen = _batches(root, tuple(batches), bank)
    ids: set[str] = set()
    for batch in chosen:
        problems = verify_manifest(root / batch)
        if problems:
            raise ConfigError(f"batch {batch} is damaged: {'; '.join(problems[:3])}")
        ids.update(case_id for case_id, _ in read_index(root / batch / "index.jsonl"))
    banks = {bank} if bank else {b.rsplit("-", 1)[0] for b in chosen}
    out = Path(out)
    listing: dict[str, str] = {}
    count = 0
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            members: list[tuple[str, Path | None]] = []
            for batch in chosen:
                for child in sorted((root / batch).iterdir()):
                    if child.is_file():
                        members.append((f"batches/{batch}/{child.name}", child))
            selected = None
            if events is not None:
                selected, count = _select(Path(events), ids, set(chosen), banks)
                members.append(("events.jsonl", selected))
            info = {
                "format": BUNDLE_FORMAT,
                "bank": bank,
                "batches": list(chosen),
                "cases": len(ids),
                "events": count,
            }
            body = (json.dumps(info, ensure_ascii=False, indent=2) + "\n").encode()
            listing["bundle.json"] = hashlib.sha256(body).hexdigest()
            for name, path in sorted(members):
                assert path is not None
                listing[name] = _add(archive, name, path)
            _write(archive, "bundle.json", body)
            manifest = "".join(f"{listing[n]}  {n}\n" for n in sorted(listing)).encode()
            _write(archive, MANIFEST, manifest)
        if selected is not None:
            selected.unlink()
        os.replace(tmp, out)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    digest = _digest_of(out)
    return Bundle(out, bank, tuple(chosen), len(ids), count, f"sha256:{digest}")


def _batches(root: Path, named: tuple[str, ...], bank: str | None) -> list[str]:
    if bool(named) == bool(bank):
        raise ConfigError("export either named batches or a bank's batches (--batch or --bank)")
    present = sorted(p.name for p in root.glob("*") if p.is_dir() and _BATCH.match(p.name))
    if bank:
        chosen = [b for b in present if b.rsplit("-", 1)[0] == bank]
        if not chosen:
            raise ConfigError(f"the store has no batch of bank {bank!r}")
        return chosen
    for batch in named:
        if batch not in present:
            raise ConfigError(f"the store has no batch {batch!r}")
    return sorted(set(named))


def _select(log: Path, ids: set[str], batches: set[str], banks: set[str]) -> tuple[Path, int]:
    """The log's lines of the bundle, in file order, into a temporary file."""
    handle, name = tempfile.mkstemp(prefix="dunning-bundle-", suffix=".jsonl")
    count = 0
    unreadable: list[str] = []
    try:
        with os.fdopen(handle, "wb") as out, log.open("rb") as lines:
            for number, line in enumerate(bounded_lines(lines), start=1):
                if not line.strip():
                    continue
                try:
                    event = parse_event(line, line=number)
                except CaseError as error:
                    unreadable.append(f"line {number}: {error.problems[0].message[:200]}")
                    continue
                keep = (
                    event.case_id in ids
                    if event.case_id is not None
                    else (
                        (isinstance(event, IntakeEvent) and event.payload.batch_id in batches)
                        or (isinstance(event, ReportEvent) and event.payload.scope in banks)
                        or (isinstance(event, ReconciliationEvent) and event.payload.bank in banks)
                        or (
                            isinstance(event, ForceMajeureReportEvent)
                            and event.payload.bank in banks
                        )
                        or (
                            isinstance(event, ForceMajeureEvent)
                            and not banks.isdisjoint(event.payload.banks)
                        )
                    )
                )
                if keep:
                    out.write(line.rstrip(b"\r\n") + b"\n")
                    count += 1
    except OSError as exc:
        Path(name).unlink(missing_ok=True)
        raise ConfigError(f"cannot read the events {log}: {exc.strerror or exc}") from None
    if unreadable:  # the bank would get its record with holes no one could see
        Path(name).unlink(missing_ok=True)
        shown = "; ".join(unreadable[:3]) + ("; …" if len(unreadable) > 3 else "")
        raise ConfigError(
            f"{len(unreadable)} line(s) of the events {log} cannot be read ({shown}): mend or "
            "remove them, then export again"
        )
    return Path(name), count


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _add(archive: zipfile.ZipFile, name: str, path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source, archive.open(_info(name), "w") as member:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            member.write(chunk)
    return digest.hexdigest()


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    with archive.open(_info(name), "w") as member:
        member.write(data)


def _digest_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- verify and import ----------------------------------------------------------------------


def verify_bundle(path: str | Path) -> list[str]:
    """Check an archive: its limits, its manifest, every member's SHA-256, each batch's manifest.

    Returns:
        What is wrong, one line each; empty when the archive verifies.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            problems = _limits(archive)
            if problems:
                return problems
            return _check(archive)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,  # an encrypted member zipfile cannot open
    ) as exc:
        # A damaged deflate stream is zlib's error, a bad CRC zipfile's: both say "damaged".
        return [f"{path}: not a readable zip archive ({_short(exc)})"]


def _limits(archive: zipfile.ZipFile) -> list[str]:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        return [f"more than {MAX_MEMBERS:,} members"]
    if sum(m.file_size for m in members) > MAX_UNPACKED:
        return [f"members unpack to more than {MAX_UNPACKED // 1024**3} GiB"]
    problems = []
    seen: set[str] = set()
    for member in members:
        if member.is_dir() and member.file_size == 0 and _safe(member.filename.rstrip("/")):
            continue  # a folder's own entry, as `zip -r` writes them: nothing to check or unpack
        if not _safe(member.filename) or member.is_dir():
            problems.append(f"{member.filename[:80]!r}: not a file name inside the bundle")
        elif member.filename in seen:
            problems.append(f"{member.filename}: twice in the archive")
        elif member.flag_bits & 0x1:
            problems.append(f"{member.filename}: encrypted (a bundle's members are not)")
        elif member.file_size > 2**20 and member.file_size > MAX_RATIO * member.compress_size:
            problems.append(f"{member.filename}: compressed more than {MAX_RATIO} to 1")
        seen.add(member.filename)
    return problems


def _files(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's files, without the folders' own entries (checked by :func:`_limits`)."""
    return [m for m in archive.infolist() if not m.is_dir()]


def _safe(name: str) -> bool:
    pure = PurePosixPath(name)
    return (
        bool(name)
        and len(name) <= 300
        and name.isprintable()
        and "\\" not in name
        and not pure.is_absolute()
        and all(part not in ("", ".", "..") for part in name.split("/"))
    )


def _check(archive: zipfile.ZipFile) -> list[str]:
    names = {m.filename for m in _files(archive)}
    if MANIFEST not in names:
        return [f"no {MANIFEST}: the archive cannot be checked"]
    text = _read_small(archive, MANIFEST)
    listing: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        matched = _LINE.match(line)
        if matched is None or matched.group(2) in listing:
            problems.append(f"{MANIFEST}:{number}: not a manifest line: {line[:80]!r}")
            continue
        listing[matched.group(2)] = matched.group(1)
    for name in sorted(names - {MANIFEST}):
        if name not in listing:
            problems.append(f"{name}: in the archive but not in the manifest")
    for name, expected in sorted(listing.items()):
        if name not in names:
            problems.append(f"{name}: in the manifest but not in the archive")
            continue
        found = hashlib.sha256()
        with archive.open(name) as member:
            while chunk := member.read(_CHUNK):
                found.update(chunk)
        if found.hexdigest() != expected:
            problems.append(f"{name}: SHA-256 {found.hexdigest()[:16]}… is not the manifest's")
    if "bundle.json" not in names:
        problems.append("no bundle.json")
    elif not problems:
        problems += _inner(archive, names)
    return problems


def _description(archive: zipfile.ZipFile) -> dict[str, Any]:
    """``bundle.json``, checked field by field.

    Raises:
        ValueError: Saying what is wrong with it.
    """
    try:
        info = json.loads(_read_small(archive, "bundle.json"))
    except ValueError:
        raise ValueError("bundle.json: not JSON") from None
    keys = {"format", "bank", "batches", "cases", "events"}
    if not isinstance(info, dict) or set(info) != keys or info["format"] != BUNDLE_FORMAT:
        raise ValueError(f"bundle.json: not a {BUNDLE_FORMAT} description ({sorted(keys)})")
    bank, batches = info["bank"], info["batches"]
    if bank is not None and not is_bank_id(bank):
        raise ValueError(f"bundle.json: {str(bank)[:80]!r} is not a bank id")
    if not isinstance(batches, list) or not batches:
        raise ValueError("bundle.json: batches is not a list of batch ids")
    for batch in batches:
        if not isinstance(batch, str) or not _BATCH.match(batch):
            raise ValueError(f"bundle.json: {str(batch)[:80]!r} is not a batch id")
    if len(set(batches)) != len(batches):
        raise ValueError("bundle.json: a batch is listed twice")
    for key in ("cases", "events"):
        if type(info[key]) is not int or not 0 <= info[key] <= 10**9:
            raise ValueError(f"bundle.json: {key} is not a count ({str(info[key])[:40]!r})")
    return info


def _member_of(name: str, batches: set[str]) -> bool:
    """Whether ``name`` is a member a bundle of ``batches`` has."""
    if name in (MANIFEST, "bundle.json", "events.jsonl"):
        return True
    parts = name.split("/")
    return (
        len(parts) == 3
        and parts[0] == "batches"
        and parts[1] in batches
        and is_batch_file(parts[2])
    )


def _inner(archive: zipfile.ZipFile, names: set[str]) -> list[str]:
    """Only the members a bundle has, each batch's files exactly as its manifest lists them.

    The store's checksums travel along: each file must match its batch manifest's SHA-256
    (its ``events.jsonl``, written after the manifest, is checked by the bundle's).
    """
    try:
        batches = _description(archive)["batches"]
    except ValueError as exc:
        return [str(exc)]
    problems = [
        f"{name}: not a member of a bundle of {', '.join(batches)[:120]}"
        for name in sorted(names)
        if not _member_of(name, set(batches))
    ]
    for batch in batches:
        prefix = f"batches/{batch}/"
        if prefix + MANIFEST not in names:
            problems.append(f"{prefix}{MANIFEST}: missing")
            continue
        try:
            listed = parse_manifest(_read_small(archive, prefix + MANIFEST), prefix + MANIFEST)
        except IntakeFailed as exc:
            problems.append(str(exc))
            continue
        files = {n[len(prefix) :] for n in names if n.startswith(prefix)} - {MANIFEST}
        for name in sorted(files - set(listed) - {"events.jsonl"}):
            problems.append(f"{prefix}{name}: not in its batch's manifest")
        for name, digest in sorted(listed.items()):
            if name not in files:
                problems.append(f"{prefix}{MANIFEST}: lists a file the bundle lacks: {name}")
                continue
            with archive.open(prefix + name) as member:
                found = hashlib.sha256()
                while chunk := member.read(_CHUNK):
                    found.update(chunk)
            if found.hexdigest() != digest:
                problems.append(f"{prefix}{name}: not the batch manifest's SHA-256")
    return problems


def _read_small(archive: zipfile.ZipFile, name: str) -> str:
    with archive.open(name) as member:
        data = member.read(4 * 1024 * 1024 + 1)
    if len(data) > 4 * 1024 * 1024:
        raise ValueError(f"{name} is larger than 4 MiB")
    return data.decode("utf-8", "replace")


def import_bundle(path: str | Path, into: str | Path) -> Bundle:
    """Verify an archive and unpack it into an empty (or new) directory, as a store.

    Raises:
        ConfigError: When the archive does not verify (nothing is written) or the directory
            is not empty.
    """
    path, into = Path(path), Path(into)
    problems = verify_bundle(path)
    if problems:
        raise ConfigError(f"{path} does not verify: {'; '.join(problems[:5])}")
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise ConfigError(f"{into} is not an empty directory")
    try:
        into.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{into.name}.", dir=into.parent))
    except OSError as exc:
        raise ConfigError(f"cannot write {into}: {exc.strerror or exc}") from None
    try:
        with zipfile.ZipFile(path) as archive:
            info = _description(archive)
            for member in sorted(_files(archive), key=lambda m: m.filename):
                if member.filename in (MANIFEST, "bundle.json"):
                    continue
                if not _member_of(member.filename, set(info["batches"])):
                    continue  # never: verify refused it
                target = work.joinpath(*member.filename.split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)
        for batch in info["batches"]:
            found = verify_manifest(work / "batches" / batch)
            if found:
                raise ConfigError(f"{batch} unpacked wrong: {'; '.join(found[:3])}")
        if into.exists():
            into.rmdir()  # empty: checked above
        os.replace(work, into)  # all or nothing
    except OSError as exc:
        raise ConfigError(f"cannot write {into}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Bundle(
        path,
        info["bank"],
        tuple(info["batches"]),
        info["cases"],
        info["events"],
        f"sha256:{_digest_of(path)}",
    )


def _short(exc: BaseException) -> str:
    return str(exc)[:120] or type(exc).__name__
