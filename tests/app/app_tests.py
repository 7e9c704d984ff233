# SPDX-License-Identifier: LGPL-2.1-or-later
"""The app tests, each what a person does and sees: run inside Xvfb and a
session bus by run-app-test.py, as
    /usr/bin/python3 app_tests.py TEST CONFIG.json
Exit 0: passed; 1: failed (the reason on stderr, a screenshot and the
app's accessibility tree in the artifacts)."""

import os
import re
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pbm_desktop as d  # noqa: E402
from pbm_desktop import (BUTTON, LABEL, LIST, PROGRESS, RADIO, SPIN, SWITCH,  # noqa: E402
                         TOGGLE, Atspi, Failure, GLib, note, wait_for)

DEMO = "Demo (30 seconds)"


def check(ok, message):
    if not ok:
        raise Failure(message)


def doses(label_text):
    """'red 0.12 J/cm², NIR 0.00 J/cm²' -> {'red': 0.12, 'NIR': 0.0}"""
    found = dict(re.findall(r"\b(red|NIR)\s+([0-9]+(?:\.[0-9]+)?)\s*J/cm²", label_text))
    check(set(found) == {"red", "NIR"},
          f"the dose {label_text!r} does not give red and NIR in J/cm²")
    return {band: float(v) for band, v in found.items()}


def seconds(clock):
    """'1:05' -> 65"""
    m = re.fullmatch(r"(?:(\d+):)?(\d+):(\d\d)", clock.strip())
    check(m is not None, f"'Time left' says {clock!r}, not a time like 0:27")
    h, mi, s = (int(x) if x else 0 for x in m.groups())
    return h * 3600 + mi * 60 + s


def choose_profile(app, title):
    app.click(RADIO, title)
    wait_for(f"the profile {title!r} checked",
             lambda: "checked" in app.states_of(RADIO, title), timeout=5)


def wait_state(app, word, timeout=10):
    return app.wait_label("Session state", lambda t: t == word, timeout,
                          f"says {word!r}")


def wait_progress_above(app, floor, timeout=6):
    return wait_for(f"'Session progress' above {floor:.3f}",
                    lambda: (v := app.progress()) > floor and v, timeout)


def assert_buttons(app, **want):
    """Start=True, Pause=False...: each button's sensitivity as it must be
    now (waited for: the app follows pbmd's signals, not the click)."""
    for button, sensitive in want.items():
        app.wait_sensitive(BUTTON, button, sensitive, timeout=5)


def assert_profiles_listed(world, app):
    titles = world.profile_titles()
    check(titles, "pbmd lists no profiles")
    for title in titles:
        app.find(RADIO, title)
    return titles


def assert_panels_listed(world, app):
    for panel in world.panels():
        serial, model = panel["Serial"], panel["Model"]
        rows = wait_for(f"a row of 'Panels' for {model} {serial}",
                        lambda: [r for r in app.list_rows("Panels")
                                 if serial in r and model in r], timeout=5)
        check("connected" in rows[0] and "°C" in rows[0],
              f"the panel's row says {rows[0]!r}: not connected nor its temperature")


# ---- 1. a session from start to stop, and its history ----

def test_session(world):
    world.start_bus()
    world.start_pbmd()
    app = world.start_app().wait_shown()
    app.find(TOGGLE, "Therapy")
    app.find(TOGGLE, "History")
    conn = app.wait_label("Connection", lambda t: "pbmd" in t and "idle" in t,
                          describe_check="names pbmd and says idle")
    note(f"Connection: {conn!r}")
    assert_panels_listed(world, app)
    titles = assert_profiles_listed(world, app)
    check(DEMO in titles, f"pbmd does not list {DEMO!r}: {titles}")
    world.screenshot("panels-and-profiles")

    choose_profile(app, DEMO)
    demo_cm = world.profiles()["demo"]["distance_cm"]
    distance = d.value(app.find(SPIN, "Distance (cm)"))
    check(abs(distance - demo_cm) < 1e-6,
          f"'Distance (cm)' shows {distance}, not the demo's {demo_cm}")
    assert_buttons(app, Start=True, Pause=False, Resume=False, Stop=False)
    app.click(BUTTON, "Start")
    wait_state(app, "Running")
    check(world.manager_property("State") == "running",
          f"the app says Running but pbmd says {world.manager_property('State')!r}")
    assert_buttons(app, Start=False, Pause=True, Resume=False, Stop=True)
    check(app.label("Message") == "", f"a Message after a good start: {app.label('Message')!r}")
    check(app.label("Outcome") == "", f"an Outcome while running: {app.label('Outcome')!r}")

    p1 = app.progress()
    step1, left1, dose1 = app.label("Step"), app.label("Time left"), app.label("Dose so far")
    note(f"first look: progress {p1:.3f}, {step1!r}, {left1!r}, {dose1!r}")
    check(0.0 <= p1 < 1.0, f"'Session progress' is {p1} right after the start")
    check(step1.startswith("Step 1 of 3") and "warm-up" in step1,
          f"'Step' says {step1!r}, not the demo's first step (Step 1 of 3: warm-up)")
    world.screenshot("running")
    p2 = wait_progress_above(app, p1 + 0.02)
    left2 = app.wait_label("Time left", lambda t: seconds(t) < seconds(left1), 6,
                           f"below {left1}")
    dose2 = app.wait_label("Dose so far", lambda t: doses(t)["red"] > doses(dose1)["red"], 6,
                           f"more red than {dose1}")
    note(f"later: progress {p2:.3f}, {left2!r}, {dose2!r}")
    step2 = app.wait_label("Step", lambda t: t.startswith("Step 2 of 3"), 15,
                           "moves on to step 2 of 3")
    check("red-and-nir" in step2, f"'Step' says {step2!r}: not the demo's second step")
    world.screenshot("step-2")

    app.click(BUTTON, "Pause")
    wait_state(app, "Paused")
    assert_buttons(app, Start=False, Pause=False, Resume=True, Stop=True)
    world.screenshot("paused")
    app.click(BUTTON, "Resume")
    wait_state(app, "Running")

    app.click(BUTTON, "Stop")
    wait_state(app, "Stopped")
    outcome = app.wait_label("Outcome", lambda t: t != "", 5, "is given")
    note(f"Outcome: {outcome!r}")
    check("stopped" in outcome.lower(), f"the Outcome {outcome!r} does not say it was stopped")
    final = doses(outcome)
    check(final["red"] > 0 and final["NIR"] > 0,
          f"the Outcome {outcome!r} does not give the red and NIR doses received")
    check(world.manager_property("State") == "idle", "pbmd is not idle after Stop")
    assert_buttons(app, Start=True, Pause=False, Resume=False, Stop=False)
    world.screenshot("stopped")

    app.click(TOGGLE, "History")
    wait_for("the History tab selected", lambda: "selected" in app.states_of(TOGGLE, "History"),
             timeout=5)
    rows = wait_for("the session in 'Sessions of the day'",
                    lambda: [r for r in app.list_rows("Sessions of the day")
                             if "demo" in r.lower() and "stopped" in r.lower()], timeout=10)
    note(f"history row: {rows[0]!r}")
    check(len(rows) == 1, f"'Sessions of the day' lists the session {len(rows)} times: {rows}")
    check("J/cm²" in rows[0], f"the history row {rows[0]!r} gives no dose")
    chart = app.find(("image", "drawing area", "canvas", "filler"), "Daily dose chart")
    check(d.description(chart) != "", "the 'Daily dose chart' has no text summary")
    world.screenshot("history")
    app.close_window()


# ---- 2. a caller pbmd refuses ----

def test_not_authorized(world):
    world.start_bus()
    world.start_pbmd()
    app = world.start_app().wait_shown()
    app.wait_label("Connection", lambda t: "idle" in t, describe_check="says idle")
    choose_profile(app, DEMO)
    app.click(BUTTON, "Start")
    message = app.wait_label("Message", lambda t: t != "", 10, "explains the refusal")
    note(f"Message: {message!r}")
    world.screenshot("refused")
    group = world.cfg["control_group"]
    check(group in message, f"the Message {message!r} does not name the control group {group}")
    check("polkit" in message, f"the Message {message!r} does not mention polkit")
    check(world.manager_property("State") == "idle"
          and world.manager_property("ActiveSession") == "/",
          "a session started although pbmd refused the caller")
    state = app.label("Session state")
    check(state not in ("Running", "Paused"), f"'Session state' says {state!r} after a refusal")
    # the app goes on: Start can be tried again, the pages still switch
    assert_buttons(app, Start=True, Pause=False, Resume=False, Stop=False)
    app.click(TOGGLE, "History")
    wait_for("the History tab selected", lambda: "selected" in app.states_of(TOGGLE, "History"),
             timeout=5)
    world.screenshot("history-refused")
    app.click(TOGGLE, "Therapy")
    wait_for("the Therapy tab selected", lambda: "selected" in app.states_of(TOGGLE, "Therapy"),
             timeout=5)
    app.click(BUTTON, "Start")
    time.sleep(1)
    check(app.answers(), "the app stopped answering after a second refusal")
    check(world.manager_property("ActiveSession") == "/", "the second Start started a session")
    app.close_window()


# ---- 3. pbmd killed and started again under the app ----

def test_daemon_restart(world):
    world.start_bus()
    world.start_pbmd()
    app = world.start_app().wait_shown()
    before = app.wait_label("Connection", lambda t: "idle" in t, describe_check="says idle")
    choose_profile(app, DEMO)
    assert_buttons(app, Start=True)
    world.screenshot("before")

    world.kill_pbmd()
    gone = app.wait_label("Connection", lambda t: "not running" in t, 10, "says not running")
    note(f"Connection: {gone!r}")
    assert_buttons(app, Start=False, Pause=False, Resume=False, Stop=False)
    check(app.alive(), "the app exited when pbmd was killed")
    check(app.answers(), "the app does not answer AT-SPI after pbmd was killed")
    world.screenshot("pbmd-killed")

    world.start_pbmd()
    back = app.wait_label("Connection", lambda t: "idle" in t, 10, "says idle again")
    check(back == before, f"Connection says {back!r} after the restart, {before!r} before")
    assert_panels_listed(world, app)
    assert_profiles_listed(world, app)
    world.screenshot("pbmd-back")
    choose_profile(app, DEMO)
    assert_buttons(app, Start=True)
    app.click(BUTTON, "Start")
    wait_state(app, "Running")
    wait_progress_above(app, 0.0)
    check(app.label("Step").startswith("Step 1 of 3"), "no Step shown for the new session")
    world.screenshot("running-again")
    app.click(BUTTON, "Stop")
    wait_state(app, "Stopped")
    app.close_window()


# ---- 4. sessions started by someone else ----

def test_follow_external(world):
    world.start_bus()
    world.start_pbmd()
    app = world.start_app().wait_shown()
    app.wait_label("Connection", lambda t: "idle" in t, describe_check="says idle")
    world.pbmctl("start", "demo")
    wait_state(app, "Running", timeout=5)
    p1 = app.progress()
    p2 = wait_progress_above(app, p1 + 0.02)
    note(f"progress {p1:.3f} -> {p2:.3f}")
    check(app.label("Step").startswith("Step "), "no Step shown for pbmctl's session")
    assert_buttons(app, Start=False, Pause=True, Stop=True)
    world.screenshot("pbmctl-session")
    app.close_window()

    # a new window while the session runs shows it as soon as it is up
    late = world.start_app().wait_shown()
    state = wait_state(late, "Running", timeout=2)
    p3 = late.progress()
    note(f"a new window: {state!r}, progress {p3:.3f}, {late.label('Step')!r}")
    check(p3 >= p2, f"the new window shows progress {p3}, below the {p2} seen before")
    check(late.label("Step").startswith("Step "), "the new window shows no Step")
    check(seconds(late.label("Time left")) < 30, "the new window shows no time left")
    world.screenshot("new-window")
    world.pbmctl("stop")
    wait_state(late, "Stopped")
    check("stopped" in late.wait_label("Outcome", lambda t: t != "", 5, "is given").lower(),
          "the Outcome of the stopped session does not say stopped")
    world.screenshot("stopped")
    late.close_window()


# ---- 5. names and keyboard ----

class FocusTracker:
    """What holds the keyboard focus, from the focus events AT-SPI sends."""

    def __init__(self):
        self.focused = None
        self.listener = Atspi.EventListener.new(self.on_event)
        self.listener.register("object:state-changed:focused")

    def on_event(self, event):
        if event.detail1 == 1:
            self.focused = event.source

    def settle(self, seconds=0.25):
        deadline = time.monotonic() + seconds
        ctx = GLib.MainContext.default()
        while time.monotonic() < deadline:
            while ctx.iteration(False):
                pass
            time.sleep(0.02)
        return self.focused


TAB = 0xFF09
SPACE = 0x0020


def press(keysym):
    Atspi.generate_keyboard_event(keysym, None, Atspi.KeySynthType.SYM)


def tab_around(tracker, limit=60):
    """Tab until focus comes back where it started: the (role, name) of
    every stop, in order."""
    stops = []
    for _ in range(limit):
        press(TAB)
        o = tracker.settle()
        if o is None:
            continue
        stop = (d.role(o), d.name(o))
        if stops and stop == stops[0]:
            break
        stops.append(stop)
    return stops


def named_controls(world):
    titles = world.profile_titles()
    return ([(TOGGLE, "Therapy"), (TOGGLE, "History"), (SPIN, "Distance (cm)"),
             (SWITCH, "I wear eye protection")]
            + [(BUTTON, b) for b in ("Start", "Pause", "Resume", "Stop")]
            + [(RADIO, t) for t in titles])


def test_keyboard(world):
    world.start_bus()
    world.start_pbmd()
    app = world.start_app().wait_shown()
    app.wait_label("Connection", lambda t: "idle" in t, describe_check="says idle")
    assert_profiles_listed(world, app)
    window = app.window()

    # no control without a name anywhere: a screen reader would say "button"
    nameless = []
    for o, _ in d.walk(window):
        try:
            if d.role(o) in d.BUTTON_ROLES and "visible" in d.states(o):
                n = d.name(o).strip()
                if not n or re.fullmatch(r"(Gtk|Adw)[A-Z]\w*", n):
                    nameless.append(f"{d.role(o)} {n!r} (description {d.description(o)!r})")
        except GLib.Error:
            continue
    check(not nameless, "controls without a name: " + "; ".join(nameless))

    # every control of the contract: named, and a keyboard can get to it
    for roles, what in named_controls(world) + [(BUTTON, "Previous day"),
                                                (BUTTON, "Next day")]:
        o = app.find(roles, what)
        check("focusable" in d.states(o), f"{d.describe(o)} is not focusable")
    for roles, what in [(LIST, "Panels"), (LIST, "Sessions of the day")]:
        app.find(roles, what)
    for what in ("Connection", "Message", "Session state", "Step", "Time left", "Dose so far",
                 "Warnings", "Outcome", "Day"):
        app.find(LABEL, what)
    app.find(PROGRESS, "Session progress")
    chart = app.find(("image", "drawing area", "canvas", "filler"), "Daily dose chart")
    check(d.description(chart) != "", "the 'Daily dose chart' has no text summary")

    # Tab reaches every control that can act now, and Space works them
    tracker = FocusTracker()
    # no window manager: the X server gives the keyboard to the window
    # under the pointer
    app.pointer_move_into()
    stops = tab_around(tracker)
    note("Tab stops on the therapy page: " + "; ".join(f"{r} {n!r}" for r, n in stops))
    names = {n for _, n in stops}
    for roles, what in named_controls(world):
        if what in ("Pause", "Resume", "Stop", "Start"):
            continue  # insensitive with no profile chosen and no session
        check(what in names, f"Tab never reaches {what!r}")
    world.screenshot("tab-around")

    # choose the demo and start it from the keyboard alone
    for _ in range(len(stops) + 1):
        if tracker.focused is not None and d.name(tracker.focused) == DEMO:
            break
        press(TAB)
        tracker.settle()
    check(tracker.focused is not None and d.name(tracker.focused) == DEMO,
          f"Tab does not come to {DEMO!r}")
    press(SPACE)
    wait_for(f"{DEMO!r} checked by Space",
             lambda: "checked" in app.states_of(RADIO, DEMO), timeout=5)
    assert_buttons(app, Start=True)
    for _ in range(len(stops) + 2):
        if tracker.focused is not None and d.name(tracker.focused) == "Start":
            break
        press(TAB)
        tracker.settle()
    check(tracker.focused is not None and d.name(tracker.focused) == "Start",
          "Tab does not come to Start once a profile is chosen")
    press(SPACE)
    wait_state(app, "Running")
    world.screenshot("started-from-keyboard")

    # the history page's own controls
    app.click(TOGGLE, "History")
    wait_for("the History tab selected", lambda: "selected" in app.states_of(TOGGLE, "History"),
             timeout=5)
    stops = tab_around(tracker)
    note("Tab stops with the history page: " + "; ".join(f"{r} {n!r}" for r, n in stops))
    check("Previous day" in {n for _, n in stops}, "Tab never reaches 'Previous day'")
    world.screenshot("history-tab")
    app.close_window()


TESTS = {
    "session": test_session,
    "not-authorized": test_not_authorized,
    "daemon-restart": test_daemon_restart,
    "follow-external": test_follow_external,
    "keyboard": test_keyboard,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in TESTS:
        print(f"usage: app_tests.py {{{','.join(TESTS)}}} CONFIG.json", file=sys.stderr)
        return 2
    test = TESTS[sys.argv[1]]
    world = d.World(d.load_config(sys.argv[2]))
    failed = None
    started = time.monotonic()
    try:
        test(world)
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        failed = e
        traceback.print_exc()
        for step in (lambda: world.screenshot("failure"), world.dump_apps):
            try:
                step()
            except Exception as e2:  # noqa: BLE001
                print(f"# (could not record the failure: {e2})", file=sys.stderr)
    problems = world.close()
    for app in world.apps:
        problems += [f"app {app.number}: {line}" for line in app.criticals()]
    note(f"{sys.argv[1]}: {time.monotonic() - started:.1f} s")
    if failed is not None:
        print(f"FAIL: {failed}", file=sys.stderr)
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if failed is not None or problems else 0


if __name__ == "__main__":
    sys.exit(main())
