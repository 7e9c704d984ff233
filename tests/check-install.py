#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What `meson install` gives a system, checked as that system would use it.

Installs the build into a temporary DESTDIR, then checks, one TAP case each:
the files and their modes, the units with systemd-analyze verify and
security, the XML files against their DTDs, the udev rule against the panel
the tests emulate, the sysusers file with systemd-sysusers, and the
installed bus policy on a private dbus-daemon (root only: callers run as
other users, in a mount namespace whose /etc/passwd has the pbmd user and
whose /proc hides other users' processes, as pbmd.service does).

Usage: check-install.py BUILD_DIR NAME=DIR...  (meson passes the dirs)
"""
import getpass
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

EXPOSURE_LIMIT = 1.0

# (directory key, path below it, mode); a path ending in / is a directory
# that stays empty.
EXPECTED = [
    ("bindir", "pbmctl", 0o755),
    ("libexecdir", "pbmd", 0o755),
    ("sysconfdir", "pbmd/pbmd.conf", 0o644),
    ("sysconfdir", "pbmd/profiles.d/", 0o755),
    ("includedir", "pbmd/protocol.h", 0o644),
    ("pkgdatadir", "profiles/back-pain.conf", 0o644),
    ("pkgdatadir", "profiles/demo.conf", 0o644),
    ("pkgdatadir", "profiles/inflammation.conf", 0o644),
    ("pkgdatadir", "profiles/joint.conf", 0o644),
    ("pkgdatadir", "profiles/recovery.conf", 0o644),
    ("pkgdatadir", "profiles/skin.conf", 0o644),
    ("mandir", "man1/pbmctl.1", 0o644),
    ("mandir", "man5/pbmd.conf.5", 0o644),
    ("mandir", "man5/pbmd.profile.5", 0o644),
    ("mandir", "man7/pbmd-protocol.7", 0o644),
    ("mandir", "man8/pbmd.8", 0o644),
    ("systemdsystemunitdir", "pbmd.service", 0o644),
    ("systemdsystemunitdir", "pbmd-session@.service", 0o644),
    ("systemdsystemunitdir", "pbmd-session@.timer", 0o644),
    ("sysusersdir", "pbmd.conf", 0o644),
    ("catalogdir", "pbmd.catalog", 0o644),
    ("udevrulesdir", "70-pbmd.rules", 0o644),
    ("dbus_interfaces_dir", "org.pbmd1.xml", 0o644),
    ("dbus_system_services_dir", "org.pbmd.service", 0o644),
    ("dbus_policy_dir", "org.pbmd.conf", 0o644),
    ("polkit_actiondir", "org.pbmd.policy", 0o644),
    ("polkit_rulesdir", "50-org.pbmd.rules", 0o644),
    ("bash_completion_dir", "pbmctl", 0o644),
    # the desktop app ("no" when built with -Dapp=disabled)
    ("appbindir", "pbm-therapy", 0o755),
    ("appmandir", "man1/pbm-therapy.1", 0o644),
    ("appdatadir", "applications/org.pbmd.Therapy.desktop", 0o644),
    ("appdatadir", "metainfo/org.pbmd.Therapy.metainfo.xml", 0o644),
    ("appdatadir", "icons/hicolor/scalable/apps/org.pbmd.Therapy.svg", 0o644),
    # pbm-gadget, the panel controller for boards ("no" when it is not built)
    ("gadgetsbindir", "pbm-gadget", 0o755),
    ("gadgetunitdir", "pbm-gadget.service", 0o644),
    ("gadgetmandir", "man5/pbm-gadget.conf.5", 0o644),
    ("gadgetmandir", "man8/pbm-gadget.8", 0o644),
    ("gadgetdatadir", "pbmd/examples/pbm-gadget.conf", 0o644),
]

# The panel as tests/umockdev/pbm-mock-panel.c describes it to udev.
PANEL = {"ACTION": "add", "SUBSYSTEM": "usb", "ENV{DEVTYPE}": "usb_device",
         "ATTR{idVendor}": "1209", "ATTR{idProduct}": "7062"}


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def case(self, name, fn):
        self.n += 1
        try:
            skip = fn()
        except Exception as e:  # a failed check, or a tool that broke
            self.failed += 1
            for line in str(e).splitlines() or ["failed"]:
                print(f"# {line}")
            print(f"not ok {self.n} - {name}")
        else:
            print(f"ok {self.n} - {name}" + (f" # SKIP {skip}" if skip else ""))
        sys.stdout.flush()

    def finish(self):
        print(f"1..{self.n}")
        return 1 if self.failed else 0


def note(text):
    for line in text.rstrip().splitlines():
        print(f"# {line}")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


class Tree:
    def __init__(self, build, dirs):
        self.dirs = dirs
        self.root = tempfile.mkdtemp(prefix="pbm-inst.")
        # the bus policy case runs installed programs as other users
        os.chmod(self.root, 0o755)
        r = run(["meson", "install", "-C", build, "--no-rebuild", "--quiet",
                 "--destdir", self.root])
        assert r.returncode == 0, "meson install failed:\n" + r.stdout + r.stderr

    def path(self, key, rel=""):
        return self.root + os.path.join(self.dirs[key], rel)

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


# ---- files and modes ----

def check_files(tree):
    expected = {}
    for key, rel, mode in EXPECTED:
        if tree.dirs[key] != "no":
            expected[tree.path(key, rel).rstrip("/")] = mode
    found = {}
    for top, dirnames, filenames in os.walk(tree.root):
        for name in filenames:
            found[os.path.join(top, name)] = os.lstat(os.path.join(top, name)).st_mode
        if not dirnames and not filenames:
            found[top] = os.lstat(top).st_mode
    problems = []
    for path, mode in sorted(expected.items()):
        rel = path[len(tree.root):]
        if path not in found:
            problems.append(f"missing: {rel}")
        elif found[path] & 0o7777 != mode:
            problems.append(f"{rel}: mode {found[path] & 0o7777:o}, expected {mode:o}")
    for path in sorted(set(found) - set(expected)):
        problems.append(f"not in the list of tests/check-install.py: {path[len(tree.root):]}")
    assert not problems, "\n".join(problems)
    note(f"{len(expected)} files installed with the expected modes")


# ---- systemd units ----

def units_for_verify(tree, tmp):
    """Copies of the installed units whose commands point into DESTDIR, so
    that verify finds the installed programs."""
    unitdir = tree.path("systemdsystemunitdir")
    for name in os.listdir(unitdir):
        with open(os.path.join(unitdir, name)) as f:
            text = f.read()
        text = re.sub(r"^(Exec\w*=[-@:+!]*)(/\S+)",
                      lambda m: m.group(1) + (tree.root + m.group(2)
                                              if os.path.exists(tree.root + m.group(2))
                                              else m.group(2)),
                      text, flags=re.M)
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    return tmp


def check_verify(tree):
    if tree.dirs["systemdsystemunitdir"] == "no":
        return "no units installed"
    with tempfile.TemporaryDirectory() as tmp:
        units_for_verify(tree, tmp)
        env = dict(os.environ, MANPATH=tree.path("mandir"), SYSTEMD_UNIT_PATH=tmp + ":",
                   SYSTEMD_LOG_LEVEL="notice")
        names = ["pbmd.service", "pbmd-session@back-pain.service",
                 "pbmd-session@back-pain.timer"]
        r = run(["systemd-analyze", "verify"] + names, cwd=tmp, env=env)
        # verify exits 0 on many warnings (an unknown Type= among them): any
        # word from it is a failure.
        out = (r.stdout + r.stderr).strip()
        assert r.returncode == 0 and not out, \
            f"systemd-analyze verify (exit {r.returncode}):\n{out}"
        note("systemd-analyze verify: " + ", ".join(names) + ": clean")


def exposure(unit_file):
    r = run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit_file])
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    assert m, f"no exposure level from systemd-analyze security:\n{r.stdout}{r.stderr}"
    return float(m.group(1)), r.stdout


def check_security(tree, unit):
    if tree.dirs["systemdsystemunitdir"] == "no":
        return "no units installed"
    level, report = exposure(tree.path("systemdsystemunitdir", unit))
    note(f"systemd-analyze security --offline=true {unit}: exposure {level} "
         f"(limit {EXPOSURE_LIMIT})")
    if level > EXPOSURE_LIMIT:
        note("\n".join(l for l in report.splitlines() if l.startswith("✗")))
    assert level <= EXPOSURE_LIMIT, f"{unit}: exposure {level} > {EXPOSURE_LIMIT}"


def ini_keys(path):
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith(("#", ";", "[")):
                key, value = line.split("=", 1)
                keys.setdefault(key, value)
    return keys


def check_activation(tree):
    if "no" in (tree.dirs["dbus_system_services_dir"], tree.dirs["systemdsystemunitdir"]):
        return "no activation file or no units installed"
    service = ini_keys(tree.path("dbus_system_services_dir", "org.pbmd.service"))
    unit = ini_keys(tree.path("systemdsystemunitdir", "pbmd.service"))
    want = {"Name": "org.pbmd", "SystemdService": "pbmd.service", "User": unit.get("User")}
    got = {k: service.get(k) for k in want}
    assert got == want, f"org.pbmd.service has {got}, expected {want}"
    assert unit.get("Type") == "dbus" and unit.get("BusName") == "org.pbmd", \
        f"pbmd.service: Type={unit.get('Type')} BusName={unit.get('BusName')}"
    assert os.access(service.get("Exec", "").split()[0] or "/nonexistent", os.X_OK), \
        f"org.pbmd.service: Exec={service.get('Exec')} is not a program"
    note(f"org.pbmd.service activates pbmd.service (Type=dbus, BusName=org.pbmd, "
         f"User={unit.get('User')})")


# ---- XML ----

def check_xml(tree):
    checks = [
        ("dbus_interfaces_dir", "org.pbmd1.xml", "/usr/share/xml/dbus-1/introspect.dtd"),
        # Debian's busconfig.dtd predates send_destination and friends: the
        # policy is only checked for being well-formed here, and dbus-daemon
        # parses it for real in the bus policy case.
        ("dbus_policy_dir", "org.pbmd.conf", None),
        ("polkit_actiondir", "org.pbmd.policy", "/usr/share/polkit-1/policyconfig-1.dtd"),
    ]
    done = []
    for key, name, dtd in checks:
        if tree.dirs[key] == "no":
            continue
        cmd = ["xmllint", "--noout", "--nonet"]
        valid = dtd is not None and os.path.exists(dtd)
        if valid:
            cmd += ["--dtdvalid", dtd]
        r = run(cmd + [tree.path(key, name)])
        assert r.returncode == 0 and not r.stderr.strip(), \
            f"xmllint {name}:\n{r.stdout}{r.stderr}"
        done.append(name + (" (valid against " + os.path.basename(dtd) + ")"
                            if valid else " (well-formed)"))
    note("xmllint: " + "; ".join(done))


# ---- polkit ----

# What each action lets an active local user do without a group: switching
# light on asks for an administrator (a child at a shared computer must not
# start near-infrared), darkening it never asks. (allow_any, allow_inactive,
# allow_active) as README's "Who may do what" explains them.
POLKIT_DEFAULTS = {
    "org.pbmd.control": ("no", "no", "auth_admin_keep"),
    "org.pbmd.stop": ("no", "no", "yes"),
    "org.pbmd.admin": ("no", "no", "auth_admin_keep"),
    "org.pbmd.read-history": ("no", "no", "auth_admin_keep"),
}


def check_polkit(tree):
    if tree.dirs["polkit_actiondir"] == "no":
        raise AssertionError("polkit files are not installed (polkit_actiondir=no)")
    found = {}
    for action in ET.parse(tree.path("polkit_actiondir", "org.pbmd.policy")).iter("action"):
        d = action.find("defaults")
        found[action.get("id")] = tuple(d.findtext(k) for k in
                                        ("allow_any", "allow_inactive", "allow_active"))
        # polkitd answers pbmd (not root) only about actions pbmd's user owns
        owners = [a.text for a in action.iter("annotate")
                  if a.get("key") == "org.freedesktop.policykit.owner"]
        assert owners == ["unix-user:pbmd"], f"{action.get('id')}: owner {owners}"
    assert found == POLKIT_DEFAULTS, f"org.pbmd.policy defaults: {found}"
    with open(tree.path("polkit_rulesdir", "50-org.pbmd.rules")) as f:
        rules = f.read()
    # the group gets everything pbmd itself lets it do, and not admin
    for action in ("org.pbmd.control", "org.pbmd.stop", "org.pbmd.read-history"):
        assert f'"{action}"' in rules, f"50-org.pbmd.rules does not name {action}"
    assert '"org.pbmd.admin"' not in rules, "50-org.pbmd.rules hands out org.pbmd.admin"
    note("control asks an administrator, stop never asks; the group gets control, stop and "
         "read-history")


# ---- udev ----

UDEV_MATCH = {"ACTION", "SUBSYSTEM", "KERNEL", "DRIVER", "DEVPATH"}
UDEV_ASSIGN = {"OWNER", "GROUP", "MODE", "TAG", "GOTO", "LABEL", "RUN", "SYMLINK"}
UDEV_BOTH = re.compile(r"^(ENV|ATTR|ATTRS)\{[A-Za-z0-9_.]+\}$")
UDEV_PAIR = re.compile(r'\s*([A-Z]+(?:\{[^}]*\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(,|$)')


def parse_udev(path):
    """The rule lines as lists of (key, op, value); raises on what udev
    would reject: unknown keys, an assignment operator on a match-only key,
    a match operator on an assign-only key, a GOTO without its LABEL."""
    rules, labels, gotos = [], set(), []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{os.path.basename(path)}:{number}"
            pairs, pos = [], 0
            while pos < len(line):
                m = UDEV_PAIR.match(line, pos)
                assert m, f"{where}: cannot parse from column {pos + 1}: {line[pos:]}"
                key, op, value = m.group(1), m.group(2), m.group(3)
                is_match = op in ("==", "!=")
                if key in UDEV_MATCH:
                    assert is_match, f"{where}: {key} only matches, not {op}"
                elif key in UDEV_ASSIGN:
                    assert not is_match, f"{where}: {key} is assigned, not matched with {op}"
                elif not UDEV_BOTH.match(key):
                    assert False, f"{where}: unknown key {key}"
                if key == "LABEL":
                    labels.add(value)
                if key == "GOTO":
                    gotos.append((where, value))
                if key == "MODE":
                    assert re.fullmatch(r"0[0-7]{3}", value), f"{where}: MODE {value}"
                pairs.append((key, op, value))
                pos = m.end()
            rules.append(pairs)
    for where, label in gotos:
        assert label in labels, f"{where}: GOTO {label} has no LABEL"
    return rules


def apply_udev(rules, device):
    """What the rules assign to a device: udev's reading, in order, with
    GOTO jumping to its LABEL."""
    result, skip_to = {}, None
    for pairs in rules:
        keys = dict((k, v) for k, op, v in pairs if k == "LABEL")
        if skip_to is not None:
            if keys.get("LABEL") == skip_to:
                skip_to = None
            continue
        matches = [(k, op, v) for k, op, v in pairs if op in ("==", "!=")]
        if not all(any(device.get(k) == alt for alt in v.split("|")) == (op == "==")
                   for k, op, v in matches):
            continue
        for k, op, v in pairs:
            if op in ("==", "!=") or k == "LABEL":
                continue
            if k == "GOTO":
                skip_to = v
            elif op == "+=":
                result.setdefault(k, []).append(v)
            else:
                result[k] = v
    return result


def check_udev(tree):
    if tree.dirs["udevrulesdir"] == "no":
        return "no udev rules installed"
    rules = parse_udev(tree.path("udevrulesdir", "70-pbmd.rules"))
    got = apply_udev(rules, PANEL)
    want = {"OWNER": "pbmd", "GROUP": "pbmd", "MODE": "0600",
            "TAG": ["systemd"], "ENV{SYSTEMD_WANTS}": ["pbmd.service"]}
    assert got == want, f"the panel 1209:7062 gets {got}, expected {want}"
    assert "uaccess" not in str(rules), "TAG+=\"uaccess\" would hand the panel to the desktop user"
    others = {
        "another product": dict(PANEL, **{"ATTR{idProduct}": "7063"}),
        "another vendor": dict(PANEL, **{"ATTR{idVendor}": "1234"}),
        "its interface": dict(PANEL, **{"ENV{DEVTYPE}": "usb_interface"}),
        "its removal": dict(PANEL, ACTION="remove"),
        "a tty": {"ACTION": "add", "SUBSYSTEM": "tty"},
    }
    for what, device in others.items():
        assert apply_udev(rules, device) == {}, f"the rule also applies to {what}"
    note(f"70-pbmd.rules: {len(rules)} rules parse; the panel gets {got}; "
         f"{', '.join(others)} get nothing")


# ---- sysusers and the bus policy ----

def sysusers_root(tree):
    """A root with the host's users and groups plus what pbmd's sysusers.d
    file creates, made by systemd-sysusers itself."""
    root = tempfile.mkdtemp(prefix="pbm-users.")
    os.makedirs(os.path.join(root, "etc"))
    for name in ("passwd", "group"):
        shutil.copy(f"/etc/{name}", os.path.join(root, "etc", name))
    r = run(["systemd-sysusers", "--root", root, tree.path("sysusersdir", "pbmd.conf")])
    assert r.returncode == 0, f"systemd-sysusers:\n{r.stdout}{r.stderr}"
    return root


def lookup(root, name, db):
    with open(os.path.join(root, "etc", db)) as f:
        for line in f:
            fields = line.rstrip("\n").split(":")
            if fields[0] == name:
                return fields
    return None


def check_sysusers(tree, state):
    if tree.dirs["sysusersdir"] == "no":
        return "no sysusers.d file installed"
    if lookup("/", "pbmd", "passwd") is not None:
        return "this machine already has a user pbmd"
    root = sysusers_root(tree)
    state["users_root"] = root
    user = lookup(root, "pbmd", "passwd")
    group = lookup(root, "pbmd", "group")
    assert user is not None and group is not None, "systemd-sysusers made no user or group pbmd"
    uid, gid = int(user[2]), int(user[3])
    assert 0 < uid < 1000 and gid == int(group[2]), f"pbmd is {user}, group {group}"
    assert user[6].endswith("nologin"), f"pbmd's shell is {user[6]}"
    people = lookup(root, "pbmd-users", "group")
    assert people is not None and 0 < int(people[2]) < 1000, \
        f"systemd-sysusers made no system group pbmd-users: {people}"
    assert people[3] == "", f"pbmd-users has members from the start: {people}"
    timer = lookup(root, "pbmd-session", "passwd")
    assert timer is not None and 0 < int(timer[2]) < 1000 and timer[6].endswith("nologin"), \
        f"systemd-sysusers made no system user pbmd-session: {timer}"
    note(f"systemd-sysusers: system user pbmd uid {uid}, group pbmd gid {gid}, shell {user[6]}; "
         f"group pbmd-users gid {people[2]}")


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <!-- dbus-1/system.conf's default policy -->
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
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


def as_user(user, groups, cmd):
    pw = pwd.getpwnam(user)
    spec = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}"]
    gids = [str(grp.getgrnam(g).gr_gid) for g in groups]
    spec += [f"--groups={','.join(gids)}"] if gids else ["--clear-groups"]
    return spec + ["--"] + cmd


def gdbus(address, user, groups, dest, path, method, *args):
    return run(as_user(user, groups, ["gdbus", "call", "--address", address, "--dest", dest,
                                      "--object-path", path, "--method", method, *args]))


def bus_policy_inner(tree_root, dirs, users_root):
    """Runs in a private mount namespace, as root."""
    for name in ("passwd", "group"):
        subprocess.run(["mount", "--bind", os.path.join(users_root, "etc", name),
                        f"/etc/{name}"], check=True)
    # as pbmd.service's ProtectProc=invisible: pbmd cannot see its callers
    subprocess.run(["mount", "-t", "proc", "-o", "hidepid=invisible", "proc", "/proc"],
                   check=True)
    tmp = tempfile.mkdtemp(prefix="pbm-bus.", dir="/tmp")
    os.chmod(tmp, 0o755)
    socket = os.path.join(tmp, "bus")
    config = os.path.join(tmp, "bus.conf")
    with open(config, "w") as f:
        f.write(BUS_CONFIG.format(socket=socket,
                                  policy=tree_root + dirs["dbus_policy_dir"] + "/org.pbmd.conf"))
    bus = subprocess.Popen(["dbus-daemon", "--config-file", config, "--nofork",
                            "--nopidfile", "--print-address"], stdout=subprocess.PIPE, text=True)
    address = bus.stdout.readline().strip()
    daemon = None
    problems = []
    try:
        assert address, "dbus-daemon did not start"
        own = ("org.freedesktop.DBus", "/org/freedesktop/DBus",
               "org.freedesktop.DBus.RequestName", "org.pbmd", "4")
        r = gdbus(address, "nobody", [], *own)
        if "AccessDenied" not in r.stderr:
            problems.append(f"nobody could own org.pbmd: {r.stdout}{r.stderr}")
        r = gdbus(address, "root", [], *own)
        if "AccessDenied" not in r.stderr:
            problems.append(f"root could own org.pbmd: {r.stdout}{r.stderr}")
        r = gdbus(address, "pbmd", ["pbmd"], *own)
        if "(uint32 1,)" not in r.stdout:
            problems.append(f"pbmd could not own org.pbmd: {r.stdout}{r.stderr}")

        # The installed pbmd, as the pbmd user: nobody reads it, and controls
        # it only with the group.
        state = os.path.join(tmp, "state")
        os.mkdir(state, 0o700)
        shutil.chown(state, "pbmd", "pbmd")
        # the installed default configuration, but with the profiles where
        # DESTDIR put them
        config = os.path.join(tmp, "pbmd.conf")
        with open(tree_root + dirs["sysconfdir"] + "/pbmd/pbmd.conf") as f:
            text = f.read()
        with open(config, "w") as f:
            f.write(text + f'\nprofile_dirs = [ "{tree_root + dirs["pkgdatadir"]}/profiles" ];\n')
        env = dict(os.environ, STATE_DIRECTORY=state)
        env.pop("NOTIFY_SOCKET", None)
        daemon = subprocess.Popen(
            as_user("pbmd", ["pbmd"], [tree_root + dirs["libexecdir"] + "/pbmd", "--simulate",
                                       "--address", address, "--config", config]),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        get = ("org.pbmd", "/org/pbmd", "org.freedesktop.DBus.Properties.Get",
               "org.pbmd1.Manager", "State")
        deadline = time.monotonic() + 30
        while True:
            r = gdbus(address, "nobody", [], *get)
            if r.returncode == 0 or time.monotonic() > deadline or daemon.poll() is not None:
                break
            time.sleep(0.2)
        if "'idle'" not in r.stdout:
            problems.append(f"nobody could not read Manager.State: {r.stdout}{r.stderr}")
        start = ("org.pbmd", "/org/pbmd", "org.pbmd1.Manager.StartSession", "demo", "{}")
        r = gdbus(address, "nobody", [], *start)
        if "NotAuthorized" not in r.stderr:
            problems.append(f"nobody could start a session: {r.stdout}{r.stderr}")
        # as pbmd-session@.service runs pbmctl: a user with the group
        # pbmd-users as a supplementary group that no user database lists,
        # and a process pbmd cannot look at: only the bus knows its groups
        r = gdbus(address, "nobody", ["pbmd-users"], *start)
        if "/org/pbmd/session/" not in r.stdout:
            problems.append(f"nobody in the group pbmd-users could not start a session: "
                            f"{r.stdout}{r.stderr}")
        else:
            gdbus(address, "nobody", ["pbmd-users"], "org.pbmd", "/org/pbmd",
                  "org.pbmd1.Manager.StopSession")
    finally:
        if daemon is not None:
            daemon.terminate()
            try:
                out, _ = daemon.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                out, _ = daemon.communicate()
            if problems:
                problems.append("pbmd said:\n" + out)
        bus.terminate()
        bus.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        print("\n".join(problems))
        return 1
    print("root and nobody cannot own org.pbmd, pbmd can; nobody reads Manager.State "
          "and cannot start a session; nobody with the supplementary group pbmd-users can")
    return 0


# Callers as root, nobody and pbmd need a root of their own: as root, a
# mount namespace; as another user, a user namespace too, in which the user
# is root and their subordinate ids (/etc/subuid, mapped by newuidmap) are
# everyone else, with a pid namespace so that it may mount /proc.
NAMESPACES_AS_ROOT = ["unshare", "--mount", "--propagation", "private"]
NAMESPACES_AS_USER = ["unshare", "--user", "--map-root-user", "--map-auto", "--mount", "--pid",
                      "--fork", "--propagation", "private"]


def check_bus_policy(tree, state):
    if "users_root" not in state:
        return "no pbmd user made by the sysusers case"
    dirs = " ".join(f"{k}={v}" for k, v in tree.dirs.items())
    ns = NAMESPACES_AS_ROOT if os.geteuid() == 0 else NAMESPACES_AS_USER
    r = run(ns + [sys.executable, os.path.abspath(__file__), "--bus-policy", tree.root,
                  state["users_root"], dirs])
    for line in (r.stdout + r.stderr).splitlines():
        note(line)
    if r.returncode != 0 and "unshare:" in r.stderr:
        raise AssertionError(
            "cannot run callers as other users: run the suite as root, or give "
            f"{getpass.getuser()} subordinate ids (sudo usermod --add-subuids 100000-165535 "
            f"--add-subgids 100000-165535 {getpass.getuser()}) and install newuidmap "
            "(Debian package uidmap)")
    assert r.returncode == 0, "the installed bus policy does not behave as it should"


def parse_dirs(words):
    return dict(w.split("=", 1) for w in words)


def main():
    if sys.argv[1:2] == ["--bus-policy"]:
        root, users, dirs = sys.argv[2], sys.argv[3], parse_dirs(sys.argv[4].split())
        return bus_policy_inner(root, dirs, users)
    build, dirs = sys.argv[1], parse_dirs(sys.argv[2:])
    tap = Tap()
    state = {}
    tree = Tree(build, dirs)
    try:
        tap.case("installed files and modes", lambda: check_files(tree))
        tap.case("systemd-analyze verify on every unit", lambda: check_verify(tree))
        tap.case("pbmd.service exposure at most 1.0",
                 lambda: check_security(tree, "pbmd.service"))
        tap.case("pbmd-session@.service exposure at most 1.0",
                 lambda: check_security(tree, "pbmd-session@.service"))
        tap.case("D-Bus activation starts pbmd.service", lambda: check_activation(tree))
        tap.case("D-Bus and polkit XML valid", lambda: check_xml(tree))
        tap.case("polkit: starting asks, stopping does not", lambda: check_polkit(tree))
        tap.case("udev rule gives the panel to pbmd", lambda: check_udev(tree))
        tap.case("sysusers.d makes the pbmd user", lambda: check_sysusers(tree, state))
        tap.case("installed bus policy on a private bus", lambda: check_bus_policy(tree, state))
    finally:
        tree.cleanup()
        if "users_root" in state:
            shutil.rmtree(state["users_root"], ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
