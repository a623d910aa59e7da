"""``erase verify JOB``: read a finished job's people back later, all of them or a sample.

A completed job keeps no plaintext identifiers, so the job's input is given again; it must
be the same input (same SHA-256), and its rows are matched to the job's people through
their pseudonyms. A uniform random sample of N in which nobody is present bounds the share
still present: at most ``1 - 0.05 ** (1 / N)``, at 95 % confidence.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cio_sec.erase.inputs import InputSpec, iter_rows, read_input
from cio_sec.erase.journal import (
    STILL_PRESENT,
    UNVERIFIED,
    VERIFIED,
    JobLock,
    Journal,
    PresentPerson,
    jobs_dir,
)
from cio_sec.erase.reach import reason_for_key
from cio_sec.erase.report import RunStatus, still_present_json
from cio_sec.erase.supervisor import install_signals
from cio_sec.erase.trail import JobTrail, reconcile
from cio_sec.erase.verify import (
    Verifier,
    VerifyRecorder,
    VerifySettings,
    app_limiter,
    paced_app_api,
)
from cio_sec.errors import ExitCode, InputError
from cio_sec.redact import fingerprint

if TYPE_CHECKING:
    from cio_sec.pseudonym import KeyRing
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

CONFIDENCE = 0.95
_WORKERS = 8


@dataclass(frozen=True)
class RecheckRequest:
    """What ``erase verify`` was asked for."""

    job: str
    sample: int | None = None
    """Read back a uniform random sample of this many erased people (None: everyone)."""
    spec: InputSpec | None = None
    """The job's input again, needed once the job purged its identifiers."""
    rate: float = 10.0
    window: float = 600.0


def upper_bound(checked: int) -> float | None:
    """The largest share still present consistent with none of ``checked`` being present.

    One-sided, at 95 % confidence: ``1 - 0.05 ** (1 / checked)`` (about 3/N).
    """
    if checked < 1:
        return None
    return float(1.0 - (1.0 - CONFIDENCE) ** (1.0 / checked))


@dataclass(frozen=True)
class RecheckReport:
    """The outcome of reading a job's people back."""

    job: str
    erased: int
    """Erased people in the job."""
    checked: int
    """People read back (the sample size, or everyone)."""
    sampled: bool
    outcomes: dict[str, int]
    still_present: tuple[PresentPerson, ...]
    interrupted: bool = False
    stopped: bool = False

    @property
    def bound(self) -> float | None:
        """At most this share remains (95 %), when a sample found nobody present."""
        if not self.sampled or self.outcomes[STILL_PRESENT]:
            return None
        return upper_bound(self.outcomes[VERIFIED])

    @property
    def exit_code(self) -> ExitCode:
        """1 anyone still present, 4 some could not be read back, 5/130 stopped."""
        if self.stopped:
            return ExitCode.INTERRUPTED if self.interrupted else ExitCode.PARTIAL
        if self.still_present:
            return ExitCode.CHECK_FAILED
        if self.outcomes[UNVERIFIED]:
            return ExitCode.REMOTE
        return ExitCode.OK

    @property
    def ok(self) -> bool:
        """True when everyone read back is gone."""
        return self.exit_code == ExitCode.OK

    @property
    def summary(self) -> str:
        """One sentence for people, the statistical bound included."""
        counts = ", ".join(f"{n} {name}" for name, n in self.outcomes.items())
        scope = f"a random sample of {self.checked}" if self.sampled else f"all {self.checked}"
        text = f"read back {scope} of {self.erased} erased people: {counts}"
        bound = self.bound
        if bound is not None:
            text += (
                f"; nobody present in {self.outcomes[VERIFIED]} checked, so at most "
                f"{bound:.2%} of the job's people remain, at 95 % confidence"
            )
        return text

    def to_json(self) -> dict[str, object]:
        """Counts, the still-present people by pseudonym, and the bound of a sample."""
        return {
            "job": self.job,
            "erased": self.erased,
            "checked": self.checked,
            "sampled": self.sampled,
            "counts": {name.replace("-", "_"): n for name, n in self.outcomes.items()},
            "still_present": [still_present_json(person) for person in self.still_present],
            "bound": None
            if self.bound is None
            else {"confidence": CONFIDENCE, "max_share_present": self.bound},
            "summary": self.summary,
            "status": (RunStatus.STOPPED if self.stopped else RunStatus.COMPLETED).value,
        }


def recheck(request: RecheckRequest, settings: Settings, opener: StoreOpener) -> RecheckReport:
    """Read a finished job's erased people back (or a sample of them) and record it.

    Raises:
        InputError: no such job, the job is not finished, the sample size is not
            positive, or the input is missing or is not the job's.
        ConfigError: the job is locked, or the journal or trail is unusable.
        SecretMissingError: no App API key (or no pseudonym key).
    """
    from cio_sec.pseudonym import load_keys
    from cio_sec.stores.chain import require

    path = jobs_dir(settings.state_dir) / f"{request.job}.sqlite"
    if not path.is_file():
        raise InputError(
            f"no erasure job {request.job!r} in {path.parent}",
            hint="list them with `cio-sec erase --status`",
        )
    if request.sample is not None and request.sample < 1:
        raise InputError("--sample must be at least 1")
    keys = load_keys(settings, opener)
    app_key = require(settings, "app_api_key", opener).value or ""
    lock = JobLock(path.with_suffix(".lock"))
    lock.acquire(request.job)
    journal = Journal.open(path)
    try:
        return asyncio.run(_Recheck(settings, request, journal, keys, app_key).run())
    finally:
        journal.close()
        lock.release()


@dataclass
class _Recheck:
    settings: Settings
    request: RecheckRequest
    journal: Journal
    keys: KeyRing
    app_key: str

    async def run(self) -> RecheckReport:
        from cio_sec import client
        from cio_sec.trail.writer import TrailWriter

        journal = self.journal
        meta = journal.meta()
        counts = journal.counts()
        if meta.get("loaded") != "1" or counts.left or counts.to_verify:
            raise InputError(
                f"job {self.request.job} is not finished",
                hint="run the erase command again to finish it first",
            )
        erased = journal.erased_numbers()
        chosen = self._choose(erased)
        identifiers = self._identifiers(meta, chosen)
        ticket = meta.get("ticket") or None
        log = TrailWriter(self.settings.audit_log, self.keys.current)
        reconcile(journal, JobTrail(log, self.request.job, ticket, run=meta.get("verify_run")))
        run = secrets.token_hex(8)
        journal.set_meta({"verify_run": run})
        journal.reset_verification(chosen)
        trail = JobTrail(log, self.request.job, ticket, run=run)
        limiter = app_limiter(self.request.rate)
        settings = VerifySettings(
            rate=self.request.rate,
            window=self.request.window,
            skip_reason=reason_for_key(meta, fingerprint(self.app_key)),
        )
        base_url = client.app_base_url(self.settings.region, self.settings.app_url)
        async with client.build_async_app_client(
            base_url, self.app_key, timeout=self.settings.timeout
        ) as http:
            verifier = Verifier(
                journal,
                paced_app_api(http, limiter),
                VerifyRecorder(journal, trail),
                settings,
                identifiers=identifiers,
            )
            done = asyncio.Event()
            done.set()
            loop = asyncio.get_running_loop()
            handled = install_signals(loop, verifier.request_stop)
            try:
                result = await verifier.run(done)
            finally:
                for signum in handled:
                    loop.remove_signal_handler(signum)
        numbers = set(chosen)
        return RecheckReport(
            job=self.request.job,
            erased=len(erased),
            checked=len(chosen),
            sampled=self.request.sample is not None,
            outcomes=journal.verify_outcomes(numbers),
            still_present=tuple(journal.still_present(numbers)),
            interrupted=result.signal == "interrupted",
            stopped=result.signal is not None,
        )

    def _choose(self, erased: list[int]) -> list[int]:
        size = self.request.sample
        if size is None or size >= len(erased):
            return erased
        return sorted(secrets.SystemRandom().sample(erased, size))

    def _identifiers(self, meta: dict[str, str], chosen: list[int]) -> dict[int, str] | None:
        """The chosen people's identifiers from the input, when the journal has none left.

        Raises:
            InputError: no input was given, or it is not the job's.
        """
        if meta.get("purged") != "1":
            return None
        spec = self.request.spec
        if spec is None:
            raise InputError(
                f"job {self.request.job} completed and removed its identifiers",
                hint="give the job's input again (the same --file or --id values) to read "
                "its people back",
            )
        summary = read_input(spec)
        if summary.sha256 != meta.get("input_sha256"):
            raise InputError(
                f"the input given is not the input of job {self.request.job}",
                hint="give the same file (or --id values) the job was started with",
            )
        numbers = set(chosen)
        wanted = {key: n for key, n in self.journal.subjects().items() if n in numbers}
        keys = self.keys.by_id()
        found: dict[int, str] = {}
        for row in iter_rows(spec):
            for key in keys.values():
                subject = key.pseudonym(row.value, row.id_type.pseudonym_kind)
                n = wanted.get((row.id_type.value, subject))
                if n is not None:
                    found[n] = row.value
        return found
