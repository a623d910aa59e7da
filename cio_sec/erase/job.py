"""Running one erasure job end to end: input, region, plan, consent, journal, engine, trail.

The read-backs that verify the erasure run beside the engine and outlast it until every
erased person has an outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cio_sec import __version__
from cio_sec.erase.engine import Engine, EngineSettings
from cio_sec.erase.inputs import (
    InputSpec,
    InputSummary,
    check_valid,
    iter_rows,
    read_input,
    remove_stale_spools,
    spool_stdin,
)
from cio_sec.erase.journal import ACTIONS, JobLock, Journal, jobs_dir
from cio_sec.erase.plan import (
    ErasureRequest,
    ErasureUi,
    Plan,
    choose_api,
    job_id,
    require_consent,
    source_label,
)
from cio_sec.erase.ratelimit import RateLimiter
from cio_sec.erase.readbacks import ReadBacks, pooled
from cio_sec.erase.report import ErasureReport, RunStatus
from cio_sec.erase.resume import kept_reach, remove_journal, resumable, resumed_ticket
from cio_sec.erase.trail import JobTrail, Tally, TrailRecorder, reconcile
from cio_sec.erase.verify import (
    VerifyResult,
)
from cio_sec.errors import CioSecError, InputError, RemoteUnavailableError
from cio_sec.trail.writer import TrailWriteError, TrailWriter

if TYPE_CHECKING:
    import httpx

    from cio_sec.pseudonym import KeyRing
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

STDIN = Path("-")
_VERIFY_WORKERS = 8
"""Read-backs in flight: enough to keep the App API's 10/s busy over a slow link."""


@dataclass(frozen=True)
class _Account:
    """The account the Track credentials open, as the region lookup found it."""

    region: str
    workspace: str


def operator() -> str:
    """``user@host`` of whoever runs the job."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def run(
    request: ErasureRequest, settings: Settings, opener: StoreOpener, ui: ErasureUi
) -> ErasureReport:
    """Erase the people of the request (or, with ``dry_run``, everything but the erasing).

    Raises:
        InputError: the input cannot be read or has invalid rows (without skip_invalid),
            the ticket is not UTF-8, or a resumed job was started with another ticket.
        ConfigError: credentials missing, confirmation refused or impossible, the job is
            locked by another process, or the state directory or trail is unusable.
        RegionMismatchError: the account is in another region than the configured one;
            nothing was sent (dry runs too).
        CredentialRejectedError: Customer.io answered 401/403 (the job is saved).
        RemoteError: Customer.io unreachable after retries, or a redirect (job saved).
    """
    _check_ticket(request.ticket)
    spec = request.spec
    spooled = None
    remove_stale_spools(jobs_dir(settings.state_dir))
    if spec.path == STDIN:
        spooled = spool_stdin(jobs_dir(settings.state_dir))
        spec = InputSpec(spooled, spec.ids, spec.column, spec.id_type, spec.v1_paths)
    try:
        request, spec, summary = choose_api(request, spec, read_input)
        check_valid(request.spec, summary, skip_invalid=request.skip_invalid)
    except CioSecError:
        _discard(spooled)
        raise
    return asyncio.run(_Run(request, spec, summary, settings, opener, ui, spooled).run())


def _check_ticket(ticket: str | None) -> None:
    """Refuse a ticket the trail cannot record (bytes that are not UTF-8).

    Raises:
        InputError: the ticket is not valid UTF-8.
    """
    if ticket is None:
        return
    try:
        ticket.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            "--ticket is not valid UTF-8", hint="give the ticket reference as UTF-8 text"
        ) from None


def _discard(spooled: Path | None) -> None:
    """Delete stdin's private copy (it holds identifiers)."""
    if spooled is not None:
        spooled.unlink(missing_ok=True)


@dataclass
class _Run:
    request: ErasureRequest
    spec: InputSpec
    summary: InputSummary
    settings: Settings
    opener: StoreOpener
    ui: ErasureUi
    spooled: Path | None = None
    reads: ReadBacks = field(init=False)
    """The read-backs that prove the erasure (``--no-verify``: skipped)."""

    def __post_init__(self) -> None:
        self.reads = ReadBacks(self.request, self.settings, self.opener, self.ui)

    async def run(self) -> ErasureReport:
        """Run the job; stdin's private copy is deleted however it ends."""
        try:
            return await self._run()
        finally:
            _discard(self.spooled)

    async def _run(self) -> ErasureReport:
        from cio_sec import client
        from cio_sec.pseudonym import load_keys
        from cio_sec.stores.chain import require

        keys = load_keys(self.settings, self.opener, create=True)
        site = require(self.settings, "site_id", self.opener).value or ""
        key = require(self.settings, "track_api_key", self.opener).value or ""
        base_url = client.track_base_url(self.settings.region, self.settings.track_url)
        # NOTE: the region guard: before anything is sent (dry runs too), the account must be
        # in the configured region. Elsewhere Customer.io would redirect or refuse the
        # erasing requests, or the operator's region setting is wrong for this account.
        found = await asyncio.to_thread(
            client.find_account,
            client.RegionSetting.of(self.settings),
            site,
            key,
            needs=("region", "environment_id"),
            timeout=self.settings.timeout,
        )
        account = _Account(found.region or self.settings.region, found.environment_id or "")
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                client.build_async_track_client(
                    base_url,
                    site,
                    key,
                    timeout=self.settings.timeout,
                    transport=pooled(self.request.concurrency),
                )
            )
            await self.reads.open(stack)
            return await self._job(account, keys, http)

    async def _job(
        self, account: _Account, keys: KeyRing, http: httpx.AsyncClient
    ) -> ErasureReport:
        job = job_id(account.workspace, self.summary)
        if self.request.dry_run:
            journal = Journal.open(None)
            lock = None
        else:
            directory = jobs_dir(self.settings.state_dir)
            lock = JobLock(directory / f"{job}.lock")
            lock.acquire(job)
            try:
                if self.request.restart:
                    path = directory / f"{job}.sqlite"
                    self.reads.kept_reach = kept_reach(path, self.reads.app_key_id)
                    remove_journal(path)
                journal = Journal.open(directory / f"{job}.sqlite")
            except BaseException:  # a damaged journal: the lock must not outlive the refusal
                lock.release()
                raise
        try:
            return await self._with_journal(job, account, keys, journal, http)
        finally:
            journal.close()
            if lock is not None:
                lock.release()

    async def _with_journal(
        self,
        job: str,
        account: _Account,
        keys: KeyRing,
        journal: Journal,
        http: httpx.AsyncClient,
    ) -> ErasureReport:
        resumed = journal.loaded
        if not resumed:
            journal.load(iter_rows(self.spec), keys.current, self._meta(job, account))
        ticket = self.request.ticket
        if resumed:
            ticket = resumed_ticket(job, journal, ticket)
        counts = journal.counts()
        plan = Plan(
            job=job,
            workspace=account.workspace,
            region=account.region,
            people=counts.people,
            invalid=self.summary.invalid,
            ticket=ticket,
            api=self.request.api,
            api_reason=self.request.api_reason,
            rate=self.request.rate,
            input_sha256=self.summary.sha256,
            source=source_label(self.request.spec, self.summary),
            dry_run=self.request.dry_run,
            resumed=resumed,
            done=counts.erased + counts.failed,
        )
        self.ui.show_plan(plan)
        if resumed:
            self.ui.note(f"resuming job {job}: {plan.done} done, {plan.left} left")
            if plan.left == 0 and counts.failed:
                self.ui.note(
                    f"{counts.failed} person(s) of this job failed earlier and are not retried; "
                    "add --restart to try everyone in the file again"
                )
        require_consent(plan, self.request, self.ui, non_interactive=self.settings.non_interactive)
        log = TrailWriter(self.settings.audit_log, keys.current)
        trail = JobTrail(log, job, ticket, run=journal.meta().get("run"))
        started = time.monotonic()
        trail.start(self._start_fields(account, plan))
        if self.request.dry_run:
            trail.end("completed", {"erased": 0, "failed": 0, "invalid": plan.invalid}, 0.0)
            return self._report(plan, RunStatus.DRY_RUN, journal, trail, started, interrupted=False)
        journal.set_meta({"status": "running", "api": self.request.api.value})
        reconcile(journal, trail)
        await self.reads.check_reach(journal)
        engine = self._engine(journal, trail, http)
        verifier = self.reads.verifier(journal, trail)
        erasing = asyncio.Event()
        verifying = asyncio.create_task(verifier.run(erasing))
        self.ui.progress_start(plan.people, plan.done)
        try:
            outcome = await engine.run()
            erasing.set()
            try:
                checked = await self.reads.finish(journal, verifier, verifying, outcome)
            except CioSecError as exc:
                if outcome.error is None:
                    raise resumable(exc, job) from None
                checked = VerifyResult()  # the engine's error is the one reported
        finally:
            self.ui.progress_stop()
            verifying.cancel()
        if checked.stopped_by is not None:
            self.ui.note(
                f"warning: read-backs stopped: {checked.stopped_by}; "
                "the people left are recorded as unverified"
            )
        elif self.reads.skip_reason is None:
            self.reads.say_why_unverified(journal)
        counts = journal.counts()
        # NOTE: an outcome counts once its trail record is written and synced: a job whose
        # trail failed is stopped, even with nobody left, until a run writes the records.
        done = counts.left == 0 and counts.to_verify == 0 and outcome.error is None
        status = RunStatus.COMPLETED if done else RunStatus.STOPPED
        failed = isinstance(outcome.error, RemoteUnavailableError)
        trail_status = "failed" if failed else status.value
        summary = {
            "erased": counts.erased,
            "failed": counts.failed,
            "invalid": counts.invalid,
            "verified": counts.verified,
            "still_present": counts.still_present,
            "unverified": counts.unverified,
        }
        if not isinstance(outcome.error, TrailWriteError):  # else it cannot take this record
            trail.end(trail_status, summary, time.monotonic() - started)
        journal.set_meta({"status": trail_status})
        if status is RunStatus.COMPLETED:
            journal.purge()
        if outcome.error is not None:
            raise resumable(outcome.error, job)
        interrupted = "interrupted" in (outcome.signal, checked.signal)
        return self._report(plan, status, journal, trail, started, interrupted=interrupted)

    def _engine(self, journal: Journal, trail: JobTrail, http: httpx.AsyncClient) -> Engine:
        ui = self.ui

        def progress(tally: Tally) -> None:
            ui.progress(tally.erased, tally.failed)

        recorder = TrailRecorder(journal, trail, progress)
        settings = EngineSettings(
            api=self.request.api,
            concurrency=self.request.concurrency,
            max_attempts=self.request.max_attempts,
            batch_size=self.request.batch_size,
        )
        return Engine(journal, http, RateLimiter(self.request.rate), recorder, settings)

    def _meta(self, job: str, account: _Account) -> dict[str, object]:
        return {
            "job": job,
            "workspace": account.workspace,
            "region": account.region,
            "input_sha256": self.summary.sha256,
            "invalid": self.summary.invalid,
            "ticket": self.request.ticket or "",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "run": secrets.token_hex(8),
            "status": "new",
            "api": self.request.api.value,
        }

    def _start_fields(self, account: _Account, plan: Plan) -> dict[str, object]:
        return {
            "workspace": account.workspace,
            "region": account.region,
            "input_sha256": self.summary.sha256,
            "people": plan.people,
            "invalid": plan.invalid,
            "actions": list(ACTIONS),
            "api": self.request.api.value,
            "operator": operator(),
            "version": __version__,
            "dry_run": self.request.dry_run,
            "resumed": plan.resumed,
        }

    def _report(
        self,
        plan: Plan,
        status: RunStatus,
        journal: Journal,
        trail: JobTrail,
        started: float,
        *,
        interrupted: bool,
    ) -> ErasureReport:
        return ErasureReport(
            plan=plan,
            status=status,
            counts=journal.counts(),
            audit_log=self.settings.audit_log,
            journal=journal.path,
            failed=tuple(journal.failed()),
            still_present=tuple(journal.still_present()),
            invalid_rows=self.summary.invalid_rows,
            chain_head=trail.last_hash,
            interrupted=interrupted,
            duration_s=time.monotonic() - started,
        )
