"""The Textual application: login, then the screens the user's role may open.

Devices come from the station's :class:`~kiosk.devices.registry.DeviceSet` (tests pass their own
device set). Every device and network call runs in a thread worker of the screen that needs it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any, Callable, ClassVar, Protocol

from textual import events, work
from textual.app import App
from textual.notifications import SeverityLevel
from textual.binding import BindingsMap
from textual.screen import ModalScreen
from textual.widgets import Input

from kiosk.accounts import Account, AccountStore
from kiosk.config import Config
from kiosk.devices.base import Device
from kiosk.i18n import LANGUAGES, current_language, set_language, station_today, translate
from kiosk.station import Station
from kiosk.tui import idle_collect
from kiosk.tui.base import APP_KEYS, KeySpec, Translated
from kiosk.tui.wizard import StepBook

log = logging.getLogger(__name__)


class DeviceProvider(Protocol):
    """What the UI needs of a device set (kiosk.devices.registry.DeviceSet fits)."""

    def get(self, name: str) -> Device: ...
    def of_kind(self, kind: str) -> Device | None: ...
    def names(self) -> list[str]: ...
    def close(self) -> None: ...


#: seconds before the idle logout when the warning appears
IDLE_WARNING_S = 30
#: longest wait of the keys typed after an Enter in a field for the screen to act on it
ENTER_HOLD_S = 1.0


class KioskApp(App[None]):
    CSS_PATH = ["kiosk.tcss", "wizard.tcss"]
    TITLE = "Kiosk e-KTP"
    KEYS: ClassVar[list[KeySpec]] = APP_KEYS

    def __init__(self, cfg: Config, *, devices: DeviceProvider | None = None,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 today: Callable[[], dt.date] = station_today, sync: bool = True,
                 preload_models: bool = True) -> None:
        super().__init__()
        from kiosk.tui.textual_fixes import release_closed_widgets_lines, uncycle_strips, unpin_styles_caches

        unpin_styles_caches()  # closed screens' widgets are not kept by Textual's colour cache
        uncycle_strips()  # drawn lines freed by their reference count, not by the garbage collector
        release_closed_widgets_lines()  # nor kept by closed widgets until a full collection
        self.cfg = cfg
        self.station = Station(cfg)
        if devices is not None:
            self.station.devices.close()
            self.station.devices = devices  # type: ignore[assignment]
        self.store = self.station.store
        #: the wizard's current step, booked in the store by workers (newest wins)
        self.step_book = StepBook(self.store)
        self.accounts = AccountStore(cfg.accounts, clock=clock)
        self.clock = clock
        self.monotonic = monotonic
        self.today = today
        self.user: Account | None = None
        self.demo: tuple[str, str] | None = None
        self.last_activity = monotonic()
        self._idle_warned = False
        #: start the sync worker (and on a simulated station the local central) with the app
        self.sync_wanted = sync
        self.sync: Any = None
        self.sync_problem: BaseException | None = None
        self._sync_lock = threading.Lock()
        self._closing = False
        #: keys typed after an Enter in a field, waiting for the screen to act on the Enter
        self._held: list[events.Key] | None = None
        self._hold_id = 0
        #: load the capture models at start (tests of other things leave it off: it takes a core for a second)
        self.preload_models = preload_models
        #: set once the capture models are loaded and the pipeline self-tested (or failed) at start
        self.models_ready = threading.Event()
        #: the process's full-collection policy (installed by kiosk.tui.warmup; None in tests)
        self.collector = idle_collect.installed()
        #: the start-up self-test's results (kiosk.ops.pipeline_check), empty until it ran
        self.pipeline_checks: list[Any] = []
        self.translate_keys()

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def devices(self) -> DeviceProvider:
        return self.station.devices  # type: ignore[return-value]

    def switch_screen(self, screen: Any) -> Any:
        """Textual's switch, started from the app's context. Textual starts the new screen's message
        loop as a task of the current context, where the screen whose handler runs is the active
        message pump; the new loop keeps that screen as its context token's old value for as long as
        it runs. A screen that outlives the one that opened it (home after the login, the kept form
        after the NIK step) kept it alive for the session, with the first resident's NIK (issue 11
        §3, tests/tui/test_startup_preparation.py). ``_context`` is Textual's own (MessagePump)."""
        with self._context():
            return super().switch_screen(screen)

    def translate_keys(self) -> None:
        bindings = self._merged_bindings.copy() if self._merged_bindings else BindingsMap()
        for key, action, code, *_ in self.KEYS:
            bindings.key_to_bindings.pop(key, None)  # ours replaces Textual's (its ctrl+q is hidden)
            bindings.bind(key, action, translate(code), priority=key == "ctrl+q")
        self._bindings = bindings

    def on_mount(self) -> None:
        import asyncio

        from kiosk.tui.screens.login import LoginScreen
        from kiosk.tui.threads import use_fresh_context_pool

        use_fresh_context_pool(asyncio.get_running_loop())  # closed screens are not kept by idle threads

        from kiosk.tui.screens.device_help import note_device_kinds

        self.sub_title = self.cfg.station.name
        note_device_kinds(self.cfg)
        self.demo = self.accounts.ensure_demo(self.cfg.station.simulated)
        self.set_interval(1.0, self.check_idle_logout)
        self.push_screen(LoginScreen())
        if self.sync_wanted:
            self.start_sync()
        if self.preload_models:
            self.load_capture_models()

    @work(thread=True, exclusive=True, group="models")
    def load_capture_models(self) -> None:
        """NFIQ 2, mindtct, the face cascades and the NIK region table (about 75 MB, a second) load
        while the operator logs in, then the pipeline's self-test runs once on built-in samples
        (kiosk.ops.pipeline_check: what the first enrollment would otherwise load), so the first
        resident waits for none of it. A failure is only logged here: the capture step that needs
        the part reports it in words."""
        from kiosk import nik
        from kiosk.ops.malloc import release_free_memory
        from kiosk.tui import services

        try:
            nik.load_tables()  # a no-op when kiosk/tui/warmup.py read them before the UI started
            services.load_capture_models(self.cfg)
            self.pipeline_checks = services.check_pipeline(self.cfg)
        except Exception as exc:
            log.warning("capture models not loaded at start: %s", str(exc))  # no exception object: it would keep this frame alive
        finally:
            release_free_memory()  # the self-test's buffers are freed: their pages go back
            self.models_ready.set()

    @work(thread=True, exclusive=True, group="release-memory")
    def release_memory(self) -> None:
        """Give the pages malloc keeps free back to the system (kiosk.ops.malloc), after an
        enrollment: its images and screens are freed by then. A worker: the trim walks malloc's
        arenas under their locks (about a millisecond), never on the event loop."""
        from kiosk.ops.malloc import release_free_memory

        release_free_memory()

    @work(thread=True, exclusive=True, group="sync-start")
    def start_sync(self) -> None:
        """The sync worker thread for as long as the app runs (a failure is shown on home and queue)."""
        from kiosk.tui import services

        try:
            sync = services.start_sync(self.cfg)
        except Exception as exc:  # no central key, local central failed to start...: shown in words
            log.warning("sync worker not started: %s", exc)
            self.sync_problem = exc
            return
        with self._sync_lock:
            if self._closing:  # the app quit while the central was starting
                sync.close()
                return
            self.sync = sync

    def stop_sync(self) -> None:
        with self._sync_lock:
            self._closing = True
            sync, self.sync = self.sync, None
        if sync is not None:
            sync.close()

    def on_unmount(self) -> None:
        self.stop_sync()
        self.station.close()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.last_activity = self.monotonic()
            self._idle_warned = False
        if isinstance(event, events.Key) and not event.is_forwarded:
            if event.key == "ctrl+j":  # Enter arrives as a newline from some terminals (tmux): one key
                enter = events.Key("enter", "\r")
                enter.time = event.time
                enter.set_sender(self)
                event.stop()
                event = enter
            if self._held is not None:  # an Enter is still moving the focus: this key waits for it
                self._held.append(event)
                event.stop()
                return
            if self.key_handled_now(event):
                event.stop()
                return
            await super().on_event(event)
            if event.key == "enter" and isinstance(self.screen.focused, Input):
                self.hold_keys_after_enter()
            return
        await super().on_event(event)

    def key_handled_now(self, event: events.Key) -> bool:
        """Keys that must act before the next key is dispatched.

        Textual hands a key to the focused widget's own queue and goes on with the next key; a Tab
        that moves the focus only acted once the widget had passed it up, so keys typed a few
        milliseconds later (a barcode scanner, a keyboard wedge, a fast typist) landed in the field
        being left. Here Tab moves the focus at once. A modal that opened by itself also drops the
        keys that were typed before it appeared."""
        from kiosk.tui.base import KioskModal

        screen = self.screen
        if isinstance(screen, KioskModal) and screen.auto_opened and event.time < screen.opened_at:
            return True
        if screen.focused is None or self._screen_priority_binding(event.key):
            return False
        if event.key == "tab":
            screen.focus_next()
            return True
        if event.key == "shift+tab":
            screen.focus_previous()
            return True
        return False

    def _screen_priority_binding(self, key: str) -> bool:
        """A screen's own priority binding for the key (e.g. Enter on a dialog) goes first."""
        return any(b.priority for b in self.screen._bindings.key_to_bindings.get(key, []))

    def hold_keys_after_enter(self) -> None:
        """Enter in a field goes to the field after the keys before it (so the field is complete);
        the keys after it wait until the screen has acted on it (its Input.Submitted has bubbled up
        to the app) or for at most ENTER_HOLD_S, then follow in their order."""
        self._held = []
        self._hold_id += 1
        hold = self._hold_id
        self.set_timer(ENTER_HOLD_S, lambda: self.release_held_keys(hold))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """The screen has handled an Enter (the message bubbles up after its handler ran)."""
        if self._held is not None:
            self.release_held_keys(self._hold_id)

    def release_held_keys(self, hold: int) -> None:
        if self._held is None or hold != self._hold_id:
            return
        held, self._held = self._held, None
        for old in held:
            key = events.Key(old.key, old.character)
            key.time = old.time  # still "typed before" a modal that opened meanwhile
            key.set_sender(self)
            self.post_message(key)

    # -- session ----------------------------------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Notifications are catalog sentences with the operator's and the devices' words in them
        ("[receipt] queue", a name typed with brackets): shown as written, never read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def login(self, account: Account) -> None:
        from kiosk.tui.screens.home import HomeScreen

        self.user = account  # the login's audit row was written by the password check (LoginScreen)
        self.last_activity = self.monotonic()
        self.switch_screen(HomeScreen())

    def may_open(self, screen: str) -> bool:
        return self.user is not None and self.user.may_open(screen)

    def open_screen(self, name: str) -> None:
        """Open one of the role-dependent screens (refused in words when the role may not)."""
        if not self.may_open(name):
            self.notify(translate("tui.denied"), severity="error")
            return
        from kiosk.tui.screens.diagnostics import DiagnosticsScreen
        from kiosk.tui.screens.enroll_nik import NikScreen
        from kiosk.tui.screens.print import PrintScreen
        from kiosk.tui.screens.progress import ProgressScreen
        from kiosk.tui.screens.queue import QueueScreen

        from kiosk.tui.kept import kept_or_new

        factory: dict[str, Callable[[], Any]] = {
            "enroll": NikScreen, "queue": QueueScreen, "print": PrintScreen,
            "diagnostics": DiagnosticsScreen, "progress": ProgressScreen,
        }
        # built once per session and aimed again on each opening (kiosk.tui.kept): the NIK screen
        # starts empty, the print screen reads its lists again
        kept_pages: dict[str, type[Any]] = {"enroll": NikScreen, "print": PrintScreen}
        if name in kept_pages:
            self.push_screen(kept_or_new(self, name, factory[name], lambda s: s.arrive(), kept_pages[name]))
            return
        self.push_screen(factory[name]())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "logout":
            return self.user is not None
        return True

    def action_logout(self, reason: str = "tui.logout.done") -> None:
        from kiosk.tui.screens.login import LoginScreen

        if self.user is None:
            return
        self.audit_logout(self.user.name, reason)
        self.user = None
        from kiosk.tui.kept import forget_kept, kept_screens

        leaving = [s for s in kept_screens(self) if s in self.screen_stack]
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(LoginScreen())
        forget_kept(self, leaving)
        self.notify(translate(reason))
        if self.collector is not None:  # the session's screens are gone: free what died while frozen
            self.call_after_refresh(self.collector.deep, "logout")

    @work(thread=True, group="audit-logout")  # the app's: it outlives the screens the logout closes
    def audit_logout(self, name: str, reason: str) -> None:
        """The logout's audit row, in a worker (a write transaction: not on the event loop)."""
        try:
            self.store.log_action(name, "logout", reason=reason)
        except Exception:  # the logout goes on; the technician finds why in the log
            log.warning("logout not audited", exc_info=True)

    def collect_when_idle(self, reason: str) -> None:
        """A moment nobody waits on (home shown again): the full garbage collection, if one is due,
        runs after this refresh, so the key that led here is answered first (kiosk.tui.idle_collect)."""
        if self.collector is not None and self.collector.due():
            self.call_after_refresh(self.collect_and_release, reason)

    def collect_and_release(self, reason: str) -> None:
        """The due collection, then malloc's free pages back to the system (in a worker): what the
        collection freed (a finished enrollment's screens and images) is only then free to give back."""
        if self.collector is not None and self.collector.collect_if_due(reason) is not None:
            self.release_memory()

    def check_idle_logout(self) -> None:
        """Warn before the idle logout, then log out (drafts stay in the store for resumption); no key
        for a while is also a moment for a due garbage collection."""
        idle = self.monotonic() - self.last_activity
        if self.collector is not None and idle >= idle_collect.QUIET_S:
            self.collect_and_release("quiet")
        if self.user is None:
            return
        limit = self.cfg.accounts.idle_logout_s
        if idle >= limit:
            self.action_logout("tui.logout.idle")
        elif idle >= limit - min(IDLE_WARNING_S, limit / 2) and not self._idle_warned:
            self._idle_warned = True
            self.notify(translate("tui.idle.warning", seconds=int(limit - idle)), severity="warning",
                        timeout=min(IDLE_WARNING_S, limit / 2))

    def action_help_quit(self) -> None:
        """Ctrl+C: say in the operator's language how to quit (Textual's own note is English)."""
        self.notify(translate("tui.quit_hint"), severity="warning")

    # -- language ---------------------------------------------------------------------------------
    def action_switch_language(self) -> None:
        langs = list(LANGUAGES)
        set_language(langs[(langs.index(current_language()) + 1) % len(langs)])
        self.translate_keys()
        visible = True  # the top screen and, under a modal, the screens it shows dimmed
        for screen in reversed(self.screen_stack):
            if isinstance(screen, Translated):
                if visible:
                    screen.language_changed()
                else:
                    screen.language_changed_hidden()
            visible = visible and isinstance(screen, ModalScreen)
        self.refresh_bindings()
