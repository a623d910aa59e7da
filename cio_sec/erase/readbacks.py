"""The read-backs that prove an erasure: the App API, the reach check and the verifier.

They run beside the engine and outlast it until every erased person has an outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cio_sec.erase.journal import Journal
from cio_sec.erase.plan import ErasureRequest, ErasureUi
from cio_sec.erase.reach import (
    KEY_META_KEY,
    META_KEY,
    SAMPLE,
    kept_answer,
    prove_reach,
    unproven_reason,
)
from cio_sec.erase.supervisor import EngineResult, install_signals
from cio_sec.erase.trail import JobTrail
from cio_sec.erase.verify import (
    NO_APP_KEY,
    SKIPPED,
    Verifier,
    VerifyRecorder,
    VerifyResult,
    VerifySettings,
    app_limiter,
    paced_app_api,
)
from cio_sec.redact import fingerprint

if TYPE_CHECKING:
    import httpx

    from cio_sec.client import AsyncAppApi
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

_VERIFY_WORKERS = 8
"""Read-backs in flight: enough to keep the App API's 10/s busy over a slow link."""


@dataclass
class ReadBacks:
    """One run's read-backs: opened before the journal, checked, then run beside the engine."""

    request: ErasureRequest
    settings: Settings
    opener: StoreOpener
    ui: ErasureUi
    app: AsyncAppApi | None = None
    """The App API for read-backs; None without a key or with ``--no-verify``."""
    skip_reason: str | None = None
    app_key_id: str = ""
    """The App API key's keyed fingerprint: whose read-backs a kept reach answer is about."""
    kept_reach: dict[str, str] = field(default_factory=dict)
    """The reach answer of the journal a ``--restart`` replaced, for the same App key."""

    async def open(self, stack: contextlib.AsyncExitStack) -> None:
        """The App API the read-backs use, or the reason they are skipped (warned once)."""
        from cio_sec import client
        from cio_sec.stores.chain import resolve

        limiter = app_limiter(self.request.verify_rate)
        if self.request.dry_run:
            return
        if not self.request.verify:
            self.skip_reason = SKIPPED
            return
        app_key = resolve(self.settings, "app_api_key", self.opener).value
        if not app_key:
            self.skip_reason = NO_APP_KEY
            self.ui.note(
                "warning: no App API key (app_api_key), so erased people cannot be read "
                "back: they are recorded as unverified; store one with "
                "`cio-sec credentials set app_api_key` (or pass --no-verify)"
            )
            return
        http = await stack.enter_async_context(
            client.build_async_app_client(
                client.app_base_url(self.settings.region, self.settings.app_url),
                app_key,
                timeout=self.settings.timeout,
                transport=pooled(_VERIFY_WORKERS),
            )
        )
        self.app = paced_app_api(http, limiter)
        self.app_key_id = fingerprint(app_key)

    async def finish(
        self,
        journal: Journal,
        verifier: Verifier,
        verifying: asyncio.Task[VerifyResult],
        outcome: EngineResult,
    ) -> VerifyResult:
        """Let the read-backs finish after the erasing, or stop them with it."""
        if outcome.signal is not None or outcome.error is not None:
            verifier.request_stop(outcome.signal or "error")
            return await verifying
        left = journal.verify_pending()
        if left and self.skip_reason is None:
            self.ui.note(
                f"verifying: reading {left} erased people back through the App API at "
                f"{self.request.verify_rate:g}/s (window {self.request.verify_window:g} s)"
            )
        loop = asyncio.get_running_loop()
        handled = install_signals(loop, verifier.request_stop)
        try:
            return await verifying
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)

    def say_why_unverified(self, journal: Journal) -> None:
        """Name the commonest reason people ended unverified (each is in the trail too)."""
        reasons = journal.unverified_reasons()
        if reasons:
            total = sum(count for _, count in reasons)
            reason, count = reasons[0]
            self.ui.note(
                f"warning: {total} erased person(s) could not be proved gone and are "
                f"recorded as unverified; the commonest reason ({count}): {reason}"
            )

    async def check_reach(self, journal: Journal) -> None:
        """Before erasing, make sure a read-back's 404 will mean "gone" (see `reach`).

        The answer is kept per App API key: a resumed run, or a ``--restart`` whose first
        people are gone already, uses the first run's; another key is asked again.
        """
        if self.app is None or self.skip_reason is not None:
            return
        answer = kept_answer(journal.meta(), self.app_key_id) or self.kept_reach
        if not answer:
            found = await prove_reach(self.app, journal.pending(0, SAMPLE))
            if found is not None:
                answer = {META_KEY: found, KEY_META_KEY: self.app_key_id}
        if answer:
            journal.set_meta(answer)
        self.skip_reason = unproven_reason(answer)
        if self.skip_reason is not None:
            self.ui.note(f"warning: {self.skip_reason}; erased people are recorded as unverified")

    def verifier(self, journal: Journal, trail: JobTrail) -> Verifier:
        """The verifier for this run (it skips, with the reason, when reads are impossible)."""
        settings = VerifySettings(
            rate=self.request.verify_rate,
            window=self.request.verify_window,
            workers=_VERIFY_WORKERS,
            skip_reason=self.skip_reason,
        )
        recorder = VerifyRecorder(journal, None if self.skip_reason == SKIPPED else trail)
        return Verifier(journal, self.app, recorder, settings)


def pooled(concurrency: int) -> httpx.AsyncHTTPTransport:
    """A transport that keeps ``concurrency`` connections open and never retries itself."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncHTTPTransport(retries=0, limits=limits)
