# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the app tests stand on, inside the X server and the session bus
that run-app-test.py made: a private bus with the real pbmd --simulate on
it, the real pbm-therapy, and the app seen as a person (through a screen
reader's eyes) sees it: AT-SPI roles, names, states, text and values.

Runs under Debian's /usr/bin/python3, which has gi and Atspi."""

import json
import os
import re
import select
import subprocess
import time
import warnings

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, Gio, GLib  # noqa: E402

PBMD_NAME = "org.pbmd"
MANAGER_PATH = "/org/pbmd"
MANAGER_IFACE = "org.pbmd1.Manager"
WINDOW_TITLE = "Light Therapy"
APP_NAME = "pbm-therapy"

# Roles as GTK 4.8 reports them through AT-SPI. A GtkToggleButton is a
# "push button" with the pressed state, a view switcher's button a "page
# tab"; the app's profile radios are toggle buttons given the radio role; a
# GtkSwitch is a "check box" with a toggle action.
BUTTON = ("push button",)
TOGGLE = ("toggle button", "push button", "radio button", "page tab")
RADIO = ("radio button", "check box", "toggle button")
SWITCH = ("switch", "check box", "toggle button")
LABEL = ("label",)
LIST = ("list", "list box")
SPIN = ("spin button",)
PROGRESS = ("progress bar",)
BUTTON_ROLES = ("push button", "toggle button", "radio button", "check box", "switch",
                "spin button", "menu item", "link")


class Failure(Exception):
    """What a person would have seen go wrong."""


class Gone(Failure):
    """The app exited: no use waiting for anything more from it."""


def note(text):
    print("# " + text, flush=True)


def wait_for(what, probe, timeout=10.0, interval=0.1):
    """probe() until it returns something true; that value. Exceptions from
    AT-SPI (an object that went away as the window changed) count as not yet."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except Gone:
            raise
        except (GLib.Error, Failure) as e:
            last = e
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not within {timeout:g} s (last seen: {last!r})")
        time.sleep(interval)


# ---- AT-SPI ----

def role(o):
    return o.get_role_name()


def name(o):
    return o.get_name() or ""


def description(o):
    return o.get_description() or ""


def states(o):
    return {s.value_nick for s in o.get_state_set().get_states()}


def has(o, interface):
    return interface in o.get_interfaces()


def children(o):
    out = []
    for i in range(o.get_child_count()):
        c = o.get_child_at_index(i)
        if c is not None:
            out.append(c)
    return out


def walk(o, depth=0, limit=60):
    """Depth first; subtrees that vanish while walked are skipped."""
    yield o, depth
    if depth >= limit:
        return
    try:
        kids = children(o)
    except GLib.Error:
        return
    for c in kids:
        yield from walk(c, depth + 1, limit)


def text(o):
    """A label's text. GTK 4.8 answers '' to get_text(0, -1): ask for the
    character count first."""
    if not has(o, "Text"):
        # an empty value label of the app is named by what it shows (its
        # description), so that a screen reader does not say "GtkLabel"
        if o.get_description() and name(o) == o.get_description():
            return ""
        return name(o)
    return Atspi.Text.get_text(o, 0, Atspi.Text.get_character_count(o))


def value(o):
    return Atspi.Value.get_current_value(o)


def all_text(o):
    """Every name and text under o (a list row), in order, as one line."""
    parts = []
    for node, _ in walk(o):
        for t in (name(node), text(node) if has(node, "Text") else ""):
            t = t.strip()
            if t and (not parts or parts[-1] != t):
                parts.append(t)
    return " | ".join(parts)


def action_names(o):
    if not has(o, "Action"):
        return []
    out = []
    for i in range(Atspi.Action.get_n_actions(o)):
        try:
            # its replacement, atspi_action_get_name(), has no binding of its
            # own: Python finds Accessible.get_name() under that name
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                out.append(Atspi.Action.get_action_name(o, i))
        except GLib.Error:
            out.append("")
    return out


def describe(o):
    try:
        return f"{role(o)} {name(o)!r}"
    except GLib.Error:
        return "a vanished object"


def find_all(root, roles, what=None):
    """Visible objects of one of roles named what (all of them for None).

    A label is found by its description first: the app names a value label
    by its text (what a screen reader reads out) and describes what the text
    is ("Session state"), next to a caption label whose name is that word."""
    by_name, by_description = [], []
    for o, _ in walk(root):
        try:
            if role(o) not in roles or "visible" not in states(o):
                # GTK 4.8 reports "showing" for windows only
                continue
            if what is not None and role(o) == "label" and description(o) == what:
                by_description.append(o)
            elif what is None or name(o) == what:
                by_name.append(o)
        except GLib.Error:
            continue
    return by_description + by_name


def dump(root, out):
    for o, depth in walk(root):
        try:
            line = (f"{'  ' * depth}{role(o)} {name(o)!r} desc={description(o)!r} "
                    f"states={sorted(states(o))} actions={action_names(o)}")
            if has(o, "Text"):
                line += f" text={text(o)!r}"
            if has(o, "Value"):
                line += f" value={value(o)!r}"
        except GLib.Error as e:
            line = f"{'  ' * depth}(vanished: {e.message})"
        out.write(line + "\n")


# ---- the private bus and pbmd ----

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Written by tests/app/pbm_desktop.py: a private bus with the system bus's
     policy, as tests/pbm-test-bus.c writes it, plus pbmd's installed policy. -->
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy user="{uid}">
    <allow own="org.pbmd"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


class World:
    """One test's world: files, the private bus, pbmd, the app(s), the
    screenshots. Everything it starts, it ends in close()."""

    def __init__(self, config):
        self.cfg = config
        self.work = config["work"]
        self.shots = config["shots"]
        self.shot_count = 0
        self.bus = None
        self.address = None
        self.conn = None
        self.pbmd = None
        self.pbmd_runs = 0
        self.apps = []
        os.makedirs(self.shots, exist_ok=True)
        self.config_path = os.path.join(self.work, "pbmd.conf")
        self.write_pbmd_conf(config["control_group"])

    # -- files --

    def write_pbmd_conf(self, control_group):
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write("# the app tests: the shipped profiles, no USB, no rest between sessions\n"
                    f'profile_dirs = [ "{self.cfg["profiles"]}" ];\n'
                    "devices = [];\n"
                    f'control_group = "{control_group}";\n'
                    "limits = { min_gap = 0; };\n")

    # -- the bus --

    def start_bus(self):
        socket = os.path.join(self.work, "bus")
        conf = os.path.join(self.work, "bus.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(BUS_CONFIG.format(socket=socket, uid=os.getuid(),
                                      policy=self.cfg["bus_policy"]))
        log = open(os.path.join(self.work, "bus.log"), "w", encoding="utf-8")
        self.bus = subprocess.Popen(
            ["dbus-daemon", "--config-file=" + conf, "--nofork", "--nopidfile", "--nosyslog",
             "--print-address=1"],
            stdout=subprocess.PIPE, stderr=log, env=self.tool_env())
        ready, _, _ = select.select([self.bus.stdout], [], [], 10)
        line = self.bus.stdout.readline().decode().strip() if ready else ""
        if not line:
            raise Failure(f"the private dbus-daemon printed no address (see {log.name})")
        self.address = line
        self.conn = Gio.DBusConnection.new_for_address_sync(
            self.address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        note(f"private bus {self.address}")

    def tool_env(self):
        """The environment of dbus-daemon, pbmd and pbmctl: the sanitizer
        settings meson gives, nothing of the desktop session."""
        env = dict(os.environ)
        for k in ("DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "AT_SPI_BUS_ADDRESS"):
            env.pop(k, None)
        return env

    # -- pbmd --

    def start_pbmd(self):
        self.pbmd_runs += 1
        env = self.tool_env()
        env["STATE_DIRECTORY"] = os.path.join(self.work, "state")
        # a GLib critical in pbmd fails the test, as in every pbmd test
        env["G_DEBUG"] = "fatal-criticals"
        log = open(os.path.join(self.work, "pbmd.log"), "a", encoding="utf-8")
        log.write(f"==== pbmd run {self.pbmd_runs}\n")
        log.flush()
        self.pbmd = subprocess.Popen(
            [self.cfg["pbmd"], "--simulate", "--address", self.address,
             "--config", self.config_path],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_for("pbmd on the bus with its simulated panel",
                 lambda: self.pbmd.poll() is None and self.has_pbmd()
                 and self.manager_property("State") == "idle", timeout=15)
        note(f"pbmd run {self.pbmd_runs}: pid {self.pbmd.pid}, idle")

    def has_pbmd(self):
        reply = self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus", "NameHasOwner",
                                    GLib.Variant("(s)", (PBMD_NAME,)), None,
                                    Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()[0]

    def call(self, method, args=None, iface=MANAGER_IFACE, path=MANAGER_PATH):
        reply = self.conn.call_sync(PBMD_NAME, path, iface, method, args, None,
                                    Gio.DBusCallFlags.NONE, 10000, None)
        return reply.unpack()

    def manager_property(self, prop):
        return self.call("Get", GLib.Variant("(ss)", (MANAGER_IFACE, prop)),
                         iface="org.freedesktop.DBus.Properties")[0]

    def profiles(self):
        """ListProfiles: name -> its entry."""
        return {p["name"]: p for p in self.call("ListProfiles")[0]}

    def profile_titles(self):
        """ListProfiles' titles (the name where a profile has no title)."""
        return [p.get("title") or p["name"] for p in self.profiles().values()]

    def panels(self):
        """Each panel pbmd lists: its properties."""
        out = []
        for path in self.manager_property("Panels"):
            out.append(self.call("GetAll", GLib.Variant("(s)", ("org.pbmd1.Panel",)),
                                 iface="org.freedesktop.DBus.Properties", path=path)[0])
        return out

    def kill_pbmd(self):
        self.pbmd.kill()
        self.pbmd.wait(10)
        note(f"pbmd pid {self.pbmd.pid} killed (SIGKILL)")
        self.pbmd = None

    def stop_pbmd(self):
        """SIGTERM, as systemd stops it; pbmd must exit 0 (under the
        sanitizers, with no report)."""
        proc, self.pbmd = self.pbmd, None
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else 0
        proc.terminate()
        try:
            return proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise Failure("pbmd did not exit within 15 s of SIGTERM")

    def pbmctl(self, *args, expect=0):
        r = subprocess.run([self.cfg["pbmctl"], "--address", self.address, *args],
                           capture_output=True, text=True, env=self.tool_env(), timeout=30)
        note(f"pbmctl {' '.join(args)} -> {r.returncode}: {(r.stdout + r.stderr).strip()}")
        if expect is not None and r.returncode != expect:
            raise Failure(f"pbmctl {' '.join(args)} exited {r.returncode}, not {expect}: "
                          f"{r.stderr.strip()}")
        return r

    # -- the app --

    def start_app(self):
        app = App(self, len(self.apps) + 1)
        self.apps.append(app)
        return app

    # -- what a person sees --

    def dump_apps(self):
        """Each app's accessibility tree into the artifacts, as the test
        left it."""
        for app in self.apps:
            if app.alive() and app.acc is not None:
                app.dump(os.path.join(self.shots, f"app-{app.number}-tree.txt"))

    def screenshot(self, what):
        self.shot_count += 1
        path = os.path.join(self.shots, f"{self.shot_count:02d}-{what}.png")
        r = subprocess.run(["import", "-window", "root", path], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise Failure(f"import -window root failed ({r.returncode}): {r.stderr.strip()}")
        note(f"screenshot {os.path.basename(path)}")
        return path

    def close(self):
        """Ends what this world started, the apps first; returns problems
        found on the way (a pbmd that did not exit 0)."""
        problems = []
        for app in self.apps:
            app.kill()
        try:
            status = self.stop_pbmd()
            if status != 0:
                problems.append(f"pbmd exited {status} on SIGTERM (its log shows why)")
        except Failure as e:
            problems.append(str(e))
        if self.bus is not None:
            self.bus.terminate()
            try:
                self.bus.wait(5)
            except subprocess.TimeoutExpired:
                self.bus.kill()
                self.bus.wait()
        return problems


class App:
    """The real pbm-therapy, started on the private bus, found on the
    accessibility desktop by its process id."""

    def __init__(self, world, number):
        self.world = world
        self.number = number
        env = dict(os.environ)
        # GTK and fontconfig keep caches for the life of the process on
        # purpose, which LeakSanitizer reports at exit in a sanitizer build:
        # leak checking is off for the app alone, every other ASan check stays.
        asan = [o for o in env.get("ASAN_OPTIONS", "").split(":")
                if o and not o.startswith("detect_leaks=")]
        env["ASAN_OPTIONS"] = ":".join(asan + ["detect_leaks=0"])
        self.log_path = os.path.join(world.work, f"app-{number}.log")
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen([world.cfg["app"], "--address=" + world.address],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.acc = None
        note(f"app {number}: pid {self.proc.pid}")

    def alive(self):
        return self.proc.poll() is None

    def _on_desktop(self):
        if not self.alive():
            raise Gone(f"pbm-therapy exited with status {self.proc.returncode}")
        desktop = Atspi.get_desktop(0)
        for a in children(desktop):
            try:
                if a.get_process_id() == self.proc.pid and a.get_child_count() > 0:
                    return a
            except GLib.Error:
                continue
        return None

    def wait_shown(self, timeout=20):
        """Until its window is on the accessibility desktop, under the
        program name the contract gives."""
        started = time.monotonic()
        self.acc = wait_for("the app's window on the accessibility desktop",
                            self._on_desktop, timeout=timeout)
        if name(self.acc) != APP_NAME:
            raise Failure(f"the app is on the desktop as {name(self.acc)!r}, not {APP_NAME!r}")
        wait_for(f"a window titled {WINDOW_TITLE!r}",
                 lambda: any(name(w) == WINDOW_TITLE for w in children(self.acc)), timeout)
        note(f"app {self.number} shown after {time.monotonic() - started:.1f} s")
        return self

    def window(self):
        if not self.alive():
            raise Gone(f"pbm-therapy exited with status {self.proc.returncode}")
        for w in children(self.acc):
            if name(w) == WINDOW_TITLE:
                return w
        raise Failure(f"the app has no window titled {WINDOW_TITLE!r}")

    def answers(self):
        """AT-SPI gets an answer from the app: it is alive and serving."""
        return self.alive() and name(self.window()) == WINDOW_TITLE

    def find(self, roles, what, timeout=10):
        def probe():
            found = find_all(self.window(), roles, what)
            return found[0] if found else None
        return wait_for(f"{'/'.join(roles)} {what!r} shown", probe, timeout)

    def label(self, what, timeout=10):
        return text(self.find(LABEL, what, timeout))

    def wait_label(self, what, check, timeout=10, describe_check=""):
        """Until label what's text passes check; that text."""
        seen = []

        def probe():
            t = self.label(what, timeout=2)
            seen.append(t)
            return t if check(t) else None
        try:
            return wait_for(f"label {what!r} {describe_check}", probe, timeout)
        except Failure:
            raise Failure(f"label {what!r} {describe_check}: not within {timeout:g} s; "
                          f"it said {seen[-1] if seen else None!r}") from None

    def states_of(self, roles, what):
        # callers wait themselves: a short look for the object
        return states(self.find(roles, what, timeout=1))

    def sensitive(self, roles, what):
        return "sensitive" in self.states_of(roles, what)

    def wait_sensitive(self, roles, what, want=True, timeout=10):
        word = "sensitive" if want else "insensitive"
        return wait_for(f"{what!r} {word}",
                        lambda: self.sensitive(roles, what) == want, timeout)

    def click(self, roles, what):
        """A click as a screen reader user makes it: the accessible action.
        Objects without one (none of the contract's) get a pointer click."""
        o = self.find(roles, what)
        if "sensitive" not in states(o):
            raise Failure(f"{describe(o)} is insensitive: a person cannot click it")
        acts = action_names(o)
        for want in ("click", "toggle", "activate", "press"):
            if want in acts:
                if not Atspi.Action.do_action(o, acts.index(want)):
                    raise Failure(f"{describe(o)}: its {want} action failed")
                note(f"clicked {describe(o)} ({want})")
                return o
        self.pointer_click(o)
        return o

    @staticmethod
    def window_geometry():
        """x, y, width, height of the window on the screen, as the X server
        has it: GTK 4.8 on X11 gives AT-SPI window coordinates only."""
        info = subprocess.run(["xwininfo", "-name", WINDOW_TITLE], capture_output=True,
                              text=True, timeout=10).stdout
        keys = ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height")
        found = [re.search(rf"{k}:\s+(-?\d+)", info) for k in keys]
        if not all(found):
            raise Failure(f"xwininfo does not find the window {WINDOW_TITLE!r}: {info!r}")
        return [int(m.group(1)) for m in found]

    def pointer_click(self, o):
        box = Atspi.Component.get_extents(o, Atspi.CoordType.WINDOW)
        x0, y0, _, _ = self.window_geometry()
        x, y = x0 + box.x + box.width // 2, y0 + box.y + box.height // 2
        Atspi.generate_mouse_event(x, y, "b1c")
        note(f"pointer click on {describe(o)} at {x},{y}")

    def pointer_move_into(self):
        """With no window manager the X server gives the keyboard to the
        window under the pointer."""
        x0, y0, width, height = self.window_geometry()
        Atspi.generate_mouse_event(x0 + width // 2, y0 + height // 2, "abs")

    def progress(self):
        return value(self.find(PROGRESS, "Session progress"))

    def list_rows(self, what):
        """The rows of list what, each as the text it shows."""
        lst = self.find(LIST, what)
        return [all_text(r) for r in children(lst)]

    def dump(self, path):
        with open(path, "w", encoding="utf-8") as f:
            dump(self.acc if self.acc is not None else Atspi.get_desktop(0), f)

    def close_window(self, timeout=10):
        """Closes the window as a person does; the app must exit 0."""
        w = self.window()
        acts = action_names(w)
        if "window.close" not in acts:
            raise Failure(f"the window has no close action (actions: {acts})")
        try:
            Atspi.Action.do_action(w, acts.index("window.close"))
        except GLib.Error as e:
            # the app may quit before it answers; its exit status tells
            note(f"the close action got no answer: {e.message}")
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"the app did not exit within {timeout} s of its window closing")
        if status != 0:
            raise Failure(f"the app exited {status} when its window closed")
        note(f"app {self.number} closed its window and exited 0")

    def kill(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def criticals(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip() for line in f if "CRITICAL" in line]


def load_config(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)

