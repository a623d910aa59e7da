"""Running one attribute purge end to end: people, plan, consent, journal, engine, proof.

The people come from an input file (only those the App API search finds holding one of the
attributes are purged) or, with ``--all-matching``, from the search alone. Each holder gets
one identify call that empties exactly the attributes they hold, then a read-back.
Nobody is deleted or suppressed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cio_sec import __version__
from cio_sec.erase.inputs import check_valid, read_input
from cio_sec.erase.job import operator
from cio_sec.erase.journal import JobLock
from cio_sec.erase.plan import source_label
from cio_sec.erase.ratelimit import RateLimiter
from cio_sec.erase.report import RunStatus
from cio_sec.erase.supervisor import install_signals
from cio_sec.errors import CioSecError, ConfigError, InputError, InteractionRequiredError
from cio_sec.purge.engine import PurgeEngine, PurgeRecorder, PurgeSettings
from cio_sec.purge.find import open_app_api
from cio_sec.purge.journal import PurgeJournal, purges_dir
from cio_sec.purge.plan import PurgePlan, PurgeRequest, PurgeUi, purge_job_id
from cio_sec.purge.report import PurgeReport
from cio_sec.purge.targets import find_targets
from cio_sec.purge.trail import ACTION, PurgeTrail, reconcile
from cio_sec.purge.verify import PurgeVerifier
from cio_sec.sanitize import Action, Policy
from cio_sec.trail.writer import TrailWriter

if TYPE_CHECKING:
    import httpx

    from cio_sec.client import AsyncAppApi
    from cio_sec.erase.inputs import InputSummary
    from cio_sec.pseudonym import PseudonymKey
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

ALL_MATCHING = "all-matching"


def run(request: PurgeRequest, settings: Settings, opener: StoreOpener, ui: PurgeUi) -> PurgeReport:
    """Remove the request's attributes from the people who hold them; never delete anyone.

    Raises:
        InputError: the input cannot be read or has invalid rows, the ticket is not
            UTF-8, or a resumed job was started with another ticket.
        ConfigError: credentials missing, confirmation refused or impossible, the job is
            locked, or the state directory or trail is unusable.
        RegionMismatchError, CredentialRejectedError, RemoteError: as `cio_sec.client`
            (a started job is saved and resumes).
    """
    if request.ticket is not None:
        try:
            request.ticket.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("--ticket is not valid UTF-8") from None
    summary = None
    if request.spec is not None:
        if request.spec.path == Path("-"):
            raise InputError("--attributes reads people from a file or --id, not stdin")
        summary = read_input(request.spec)
        check_valid(request.spec, summary, skip_invalid=False)
    return asyncio.run(_Purge(request, settings, opener, ui, summary).run())


@dataclass
class _Purge:
    request: PurgeRequest
    settings: Settings
    opener: StoreOpener
    ui: PurgeUi
    summary: InputSummary | None

    async def run(self) -> PurgeReport:
        from cio_sec import client
        from cio_sec.pseudonym import load_keys
        from cio_sec.stores.chain import require

        keys = load_keys(self.settings, self.opener, create=True)
        site = require(self.settings, "site_id", self.opener).value or ""
        key = require(self.settings, "track_api_key", self.opener).value or ""
        # NOTE: the region guard, as erase: nothing is sent unless the account is in the
        # configured region (dry runs too).
        found = await asyncio.to_thread(
            client.find_account,
            client.RegionSetting.of(self.settings),
            site,
            key,
            needs=("region", "environment_id"),
            timeout=self.settings.timeout,
        )
        region = found.region or self.settings.region
        workspace = found.environment_id or ""
        base_url = client.track_base_url(self.settings.region, self.settings.track_url)
        async with contextlib.AsyncExitStack() as stack:
            app = await stack.enter_async_context(
                open_app_api(self.settings, self.opener, self.request.verify_rate)
            )
            http = await stack.enter_async_context(
                client.build_async_track_client(base_url, site, key, timeout=self.settings.timeout)
            )
            return await self._job(workspace, region, keys.current, app, http)

    def _source(self) -> str:
        if self.summary is None or self.request.spec is None:
            return ALL_MATCHING
        return source_label(self.request.spec, self.summary)

    async def _job(
        self,
        workspace: str,
        region: str,
        key: PseudonymKey,
        app: AsyncAppApi,
        http: httpx.AsyncClient,
    ) -> PurgeReport:
        source = self._source()
        material = source if self.summary is None else f"{self.summary.sha256}:{source}"
        job = purge_job_id(workspace, self.request.attributes, material)
        if self.request.dry_run:
            journal, lock = PurgeJournal.open(None), None
        else:
            path = purges_dir(self.settings.state_dir) / f"{job}.sqlite"
            lock = JobLock(path.with_suffix(".lock"))
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            lock.acquire(job)
            try:
                journal = self._open_journal(path)
            except BaseException:
                lock.release()
                raise
        try:
            return await self._with_journal(job, workspace, region, key, journal, app, http)
        finally:
            journal.close()
            if lock is not None:
                lock.release()

    def _open_journal(self, path: Path) -> PurgeJournal:
        """The job's journal; a finished job (or ``--restart``) starts over as a new run."""
        if path.exists() and not self.request.restart:
            journal = PurgeJournal.open(path)
            if journal.meta().get("status") != "completed":
                return journal
            journal.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{path}{suffix}").unlink()
        return PurgeJournal.open(path)

    async def _with_journal(
        self,
        job: str,
        workspace: str,
        region: str,
        key: PseudonymKey,
        journal: PurgeJournal,
        app: AsyncAppApi,
        http: httpx.AsyncClient,
    ) -> PurgeReport:
        resumed = journal.loaded
        holding_none = 0
        if resumed:
            ticket = _resumed_ticket(job, journal, self.request.ticket)
            holding_none = int(journal.meta().get("holding_none", "0"))
        else:
            ticket = self.request.ticket
            targets, holding_none = await find_targets(self.request, app, key)
            journal.load(targets, self._meta(job, workspace, region, holding_none))
        counts = journal.counts()
        plan = PurgePlan(
            job=job,
            workspace=workspace,
            region=region,
            attributes=self.request.attributes,
            per_attribute=journal.per_attribute(),
            people=counts.people,
            source=self._source(),
            ticket=ticket,
            rate=self.request.rate,
            dry_run=self.request.dry_run,
            resumed=resumed,
            done=counts.purged + counts.failed,
            holding_none=holding_none,
            outside_policy=self._outside_policy(),
        )
        self.ui.show_purge_plan(plan)
        if resumed:
            self.ui.note(f"resuming purge {job}: {plan.done} done, {plan.left} left")
        self._consent(plan)
        log = TrailWriter(self.settings.audit_log, key)
        trail = PurgeTrail(log, job, ticket, run=journal.meta().get("run"))
        started = time.monotonic()
        trail.start(self._start_fields(plan))
        if self.request.dry_run:
            trail.end("completed", {"purged": 0, "failed": 0}, 0.0)
            return self._report(plan, RunStatus.DRY_RUN, journal, trail, started, interrupted=False)
        journal.set_meta({"status": "running"})
        reconcile(journal, trail)
        outcome, signal = await self._send_and_verify(journal, trail, app, http)
        counts = journal.counts()
        done = counts.left == 0 and counts.to_verify == 0 and outcome is None and signal is None
        status = RunStatus.COMPLETED if done else RunStatus.STOPPED
        summary = {
            "purged": counts.purged,
            "failed": counts.failed,
            "verified": counts.verified,
            "still_present": counts.still_present,
            "unverified": counts.unverified,
        }
        trail.end(status.value, summary, time.monotonic() - started)
        journal.set_meta({"status": status.value})
        if done:
            journal.purge_identifiers()
        if outcome is not None:
            outcome.hint = (
                f"{outcome.hint + '; ' if outcome.hint else ''}purge {job} is saved: run the "
                "same command again to resume"
            )
            raise outcome
        interrupted = signal == "interrupted"
        return self._report(plan, status, journal, trail, started, interrupted=interrupted)

    async def _send_and_verify(
        self,
        journal: PurgeJournal,
        trail: PurgeTrail,
        app: AsyncAppApi,
        http: httpx.AsyncClient,
    ) -> tuple[CioSecError | None, str | None]:
        """Purge, then read back; return the error or signal that stopped either."""
        recorder = PurgeRecorder(journal, trail)
        settings = PurgeSettings(
            concurrency=self.request.concurrency,
            max_attempts=self.request.max_attempts,
            empty=self.request.empty,
        )
        engine = PurgeEngine(journal, http, RateLimiter(self.request.rate), recorder, settings)
        result = await engine.run()
        if result.error is not None or result.signal is not None:
            return result.error, result.signal
        verifier = PurgeVerifier(journal, app, trail, self.request.verify_window)

        loop = asyncio.get_running_loop()
        handled = install_signals(loop, verifier.request_stop)
        try:
            await verifier.run()
        except CioSecError as exc:
            return exc, None
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)
        return None, verifier.stopped

    def _outside_policy(self) -> tuple[str, ...]:
        """The names the sanitize policy would not drop (a note, not a refusal)."""
        try:
            path = self.settings.sanitize_policy
            policy = Policy.load(path) if path else Policy.default()
        except CioSecError:
            return ()
        return tuple(
            name
            for name in self.request.attributes
            if policy.decide(name).action is not Action.DROP
        )

    def _consent(self, plan: PurgePlan) -> None:
        if plan.outside_policy:
            self.ui.note(
                f"note: the sanitize policy does not drop {', '.join(plan.outside_policy)}; "
                "they are purged all the same"
            )
        if self.request.yes or self.request.dry_run or plan.left == 0:
            return
        if self.settings.non_interactive:
            raise InteractionRequiredError(
                "purging needs confirmation but the session is non-interactive; nothing was sent",
                hint="pass --yes to confirm in advance, after a --dry-run",
            )
        if not self.ui.confirm_purge(plan):
            raise ConfigError(
                "not confirmed; nothing was sent",
                hint=f"type the number of people ({plan.left}) to confirm",
            )

    def _meta(self, job: str, workspace: str, region: str, holding_none: int) -> dict[str, object]:
        return {
            "job": job,
            "action": ACTION,
            "workspace": workspace,
            "region": region,
            "attributes": ",".join(self.request.attributes),
            "ticket": self.request.ticket or "",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "run": secrets.token_hex(8),
            "status": "new",
            "holding_none": holding_none,
        }

    def _start_fields(self, plan: PurgePlan) -> dict[str, object]:
        return {
            "action": ACTION,
            "workspace": plan.workspace,
            "region": plan.region,
            "attributes": list(plan.attributes),
            "per_attribute": dict(plan.per_attribute),
            "people": plan.people,
            "input_sha256": None if self.summary is None else self.summary.sha256,
            "source": plan.source,
            "operator": operator(),
            "version": __version__,
            "dry_run": plan.dry_run,
            "resumed": plan.resumed,
        }

    def _report(
        self,
        plan: PurgePlan,
        status: RunStatus,
        journal: PurgeJournal,
        trail: PurgeTrail,
        started: float,
        *,
        interrupted: bool,
    ) -> PurgeReport:
        return PurgeReport(
            plan=plan,
            status=status,
            counts=journal.counts(),
            audit_log=self.settings.audit_log,
            journal=journal.path,
            chain_head=trail.last_hash,
            interrupted=interrupted,
            duration_s=time.monotonic() - started,
        )


def _resumed_ticket(job: str, journal: PurgeJournal, given: str | None) -> str | None:
    """The ticket a resumed purge was started with.

    Raises:
        InputError: ``--ticket`` names a different ticket.
    """
    stored = journal.meta().get("ticket") or None
    if given is not None and given != stored:
        started = f"ticket {stored}" if stored else "no ticket"
        raise InputError(
            f"purge {job} was started with {started}; a resumed purge keeps its ticket",
            hint="leave --ticket out (or give the same one) to resume, or add --restart",
        )
    return stored
