#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pbmd's full-system suite, host side (`meson test -C build --suite system`).

Puts the project's Debian packages (contrib/debian/) into a Debian 12
guest, whose script installs them with apt as a user would, boots it under
QEMU with its own kernel, real systemd, udev, dbus-daemon and polkitd, and
plugs a panel into its kernel's USB stack through QEMU's usb-redir device,
played by pbm-usbredir-panel (the firmware model of src/sim). The guest's script (guest/usr/local/libexec/
pbmd-system-test) runs the scenarios and reports over a virtio serial port;
this side relays its orders to the panel and to QEMU, checks what only the
host sees (the light at the device, the journal of every boot) and prints
TAP. Artifacts (consoles, the panel's log, the journal as text) stay in
the work directory.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

BOOT_TIMEOUT_S = 420
BOOTS = 2


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0
        self.lock = threading.Lock()

    def result(self, passed, desc):
        with self.lock:
            self.count += 1
            if not passed:
                self.failed += 1
            print(f"{'ok' if passed else 'not ok'} {self.count} - {desc}", flush=True)

    def diag(self, text):
        with self.lock:
            for line in text.splitlines() or [""]:
                print(f"# {line}", flush=True)

    def plan(self):
        print(f"1..{self.count}", flush=True)


def log(tap, text):
    tap.diag(f"[{time.strftime('%H:%M:%S')}] {text}")


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, **kwargs)


def built_debs(args, work):
    """The Debian packages the guest installs: --debs, or built here from
    the work tree (contrib/build-debs, without the unit suites, which the
    test suite runs anyway)."""
    if args.debs:
        return os.path.abspath(args.debs)
    debs = os.path.join(work, "debs")
    options = (os.environ.get("DEB_BUILD_OPTIONS", "") + " nocheck").strip()
    env = dict(os.environ, DEB_BUILD_OPTIONS=options)
    log_path = os.path.join(work, "build-debs.log")
    with open(log_path, "w") as out:
        done = subprocess.run([os.path.join(args.source, "contrib", "build-debs"), debs],
                              env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        with open(log_path) as f:
            tail = f.read().splitlines()[-30:]
        sys.exit(f"building the Debian packages failed (contrib/build-debs, exit "
                 f"{done.returncode}); the end of {log_path}:\n" + "\n".join(tail))
    return debs


def make_image(args, work, tap):
    here = os.path.dirname(os.path.abspath(__file__))
    t0 = time.monotonic()
    rootfs = subprocess.run([os.path.join(here, "make-rootfs.sh"), args.cache], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    t1 = time.monotonic()
    debs = built_debs(args, work)
    t2 = time.monotonic()
    run(["fakeroot", "--", os.path.join(here, "make-image.sh"), rootfs, debs,
         args.guest, work])
    t3 = time.monotonic()
    tap.diag(f"figure: guest root file system {t1 - t0:.0f} s (cached: {os.path.basename(rootfs)}), "
             f"packages {t2 - t1:.0f} s ({'given: ' + debs if args.debs else 'built'}), "
             f"image {t3 - t2:.0f} s")


def connect_unix(path, timeout):
    """Connects to a unix socket that may not be listening yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Panel:
    """The control socket of pbm-usbredir-panel: one line out, one back."""

    def __init__(self, path):
        self.sock = connect_unix(path, 10)
        self.file = self.sock.makefile("rw")
        self.lock = threading.Lock()

    def order(self, line):
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()
            return self.file.readline().rstrip("\n")

    def state(self):
        reply = self.order("state")
        return dict(f.split("=", 1) for f in reply.split()[1:] if "=" in f)


class Qmp:
    """QEMU's monitor: waits for the guest to suspend, then wakes it."""

    def __init__(self, path):
        self.sock = connect_unix(path, 30)
        self.file = self.sock.makefile("rw")
        self.file.readline()  # the greeting
        self.send({"execute": "qmp_capabilities"})
        self.suspended = threading.Event()
        self.thread = threading.Thread(target=self.read_events, daemon=True)
        self.thread.start()

    def send(self, msg):
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()

    def read_events(self):
        for line in self.file:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("event") == "SUSPEND":
                self.suspended.set()


def wake_after_suspend(qmp, panel, tap):
    """Checks the light at the moment the guest sleeps, then wakes it."""
    if not qmp.suspended.wait(60):
        tap.result(False, "the guest went to sleep (QEMU's SUSPEND event)")
        return
    state = panel.state()
    panel.order("mark the guest is asleep (QEMU SUSPEND)")
    tap.result(state.get("lit") == "0",
               f"the light was off at the device when the guest slept (lit={state.get('lit')})")
    time.sleep(3)
    qmp.suspended.clear()
    qmp.send({"execute": "system_wakeup"})


def qemu_command(work, boot):
    return [
        "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg,thread=multi", "-cpu", "max",
        "-smp", "2", "-m", "1536", "-display", "none", "-no-reboot", "-nodefaults",
        "-serial", f"file:{work}/console-boot{boot}.log", "-nic", "none",
        "-kernel", f"{work}/vmlinuz", "-initrd", f"{work}/initrd.img",
        "-append", "console=ttyS0 root=/dev/vda rw quiet panic=-1 systemd.show_status=0",
        "-drive", f"file={work}/disk.ext4,format=raw,if=virtio,cache=unsafe",
        "-qmp", f"unix:{work}/qmp.sock,server=on,wait=off",
        "-device", "qemu-xhci,id=xhci",
        "-chardev", f"socket,id=redir,path={work}/redir.sock,server=on,wait=off",
        "-device", "usb-redir,chardev=redir,bus=xhci.0",
        "-device", "virtio-serial",
        "-chardev", f"socket,id=test,path={work}/test.sock,server=on,wait=off",
        "-device", "virtserialport,chardev=test,name=org.pbmd.test",
    ]


def plug_when_ready(panel, tap):
    deadline = time.monotonic() + 30
    while True:
        reply = panel.order("plug")
        if reply.startswith("ok") or "already" in reply:
            return
        if time.monotonic() > deadline:
            tap.result(False, f"the panel plugs into the new guest: {reply}")
            return
        time.sleep(0.2)


def run_boot(work, boot, panel, tap):
    """Boots the guest once and serves its script until QEMU exits."""
    for name in ("qmp.sock", "redir.sock", "test.sock"):
        try:
            os.unlink(os.path.join(work, name))
        except FileNotFoundError:
            pass
    log(tap, f"boot {boot}: starting QEMU")
    t0 = time.monotonic()
    qemu = subprocess.Popen(qemu_command(work, boot), stdin=subprocess.DEVNULL)
    ending = None
    try:
        qmp = Qmp(os.path.join(work, "qmp.sock"))
        channel = connect_unix(os.path.join(work, "test.sock"), 30)
        plug_when_ready(panel, tap)
        chan = channel.makefile("rw")
        channel.settimeout(BOOT_TIMEOUT_S)
        first = True
        for line in chan:
            line = line.rstrip("\n")
            if first:
                log(tap, f"boot {boot}: the guest's script started {time.monotonic() - t0:.0f} s after QEMU")
                first = False
            verb, _, rest = line.partition(" ")
            reply = "ack"
            if verb == "ok":
                tap.result(True, rest)
            elif verb == "not-ok":
                tap.result(False, rest)
            elif verb == "diag":
                tap.diag(rest)
            elif verb == "panel":
                reply = panel.order(rest)
            elif verb == "wake-after-suspend":
                threading.Thread(target=wake_after_suspend, args=(qmp, panel, tap),
                                 daemon=True).start()
            elif verb == "boot-done":
                ending = rest
            else:
                tap.result(False, f"the guest sent an unknown line: {line}")
            chan.write(reply + "\n")
            chan.flush()
    except (OSError, socket.timeout) as e:
        tap.result(False, f"boot {boot}: the guest's channel: {e}")
    finally:
        try:
            qemu.wait(timeout=120 if ending else 5)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait()
        panel.order("unplug")
    log(tap, f"boot {boot}: QEMU exited ({qemu.returncode}) after {time.monotonic() - t0:.0f} s, ending: {ending}")
    return ending


# Marks after which nothing but the panel's own watchdog is sure to switch the
# light off: at the latest 3 s (pbmd's default watchdog_timeout_ms) after the
# last heartbeat it took. After SIGKILL, the pbmd that systemd restarts can
# be quicker, with ALL_OFF.
WATCHDOG_MARKS = ("unplug mid-session", "systemctl kill -s KILL pbmd")
WATCHDOG_S = 3.0


def light_figures(work, tap):
    """From the panel's log: how long after each of the guest's marks the
    light was off at the device, and after pbmd's last heartbeat (the
    host's clock)."""
    mark = None
    heartbeat = None
    previous = ""
    try:
        with open(os.path.join(work, "panel.log")) as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for line in lines:
        when, _, event = line.partition(" ")
        if event.startswith("mark "):
            mark = (float(when), event[5:])
        elif event.startswith("request heartbeat") and event.endswith(" ok"):
            heartbeat = float(when)
        elif event.startswith("light off") and mark is not None:
            after_beat = float(when) - heartbeat if heartbeat is not None else float("nan")
            by = "ALL_OFF" if previous.startswith(f"{when} request all-off") else "the panel"
            tap.diag(f"figure: host: {mark[1]}: dark {float(when) - mark[0]:.3f} s later, "
                     f"{after_beat:.3f} s after the last heartbeat, by {by}")
            if mark[1] in WATCHDOG_MARKS:
                tap.result(after_beat <= WATCHDOG_S + 0.05,
                           f"{mark[1]}: dark at most {WATCHDOG_S:.0f} s after pbmd's last "
                           f"heartbeat ({after_beat:.3f} s, by {by})")
            mark = None
        previous = line


def read_journal(work):
    out = os.path.join(work, "journal")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    subprocess.run(["debugfs", "-R", f"rdump /var/log/journal {out}", os.path.join(work, "disk.ext4")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return os.path.join(out, "journal")


def journal(jdir, *args):
    return subprocess.run(["journalctl", "--no-pager", "-D", jdir, *args], check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout


def check_journal(work, tap):
    """What the guest's journal says about pbmd, read from the image."""
    jdir = read_journal(work)
    with open(os.path.join(work, "journal.txt"), "w") as f:
        f.write(journal(jdir, "-o", "short-monotonic"))
    boots = [line.split()[1] for line in journal(jdir, "--list-boots").splitlines()[1:]
             if len(line.split()) > 1]
    tap.result(len(boots) == BOOTS, f"the journal holds {BOOTS} boots (found {len(boots)})")
    if not boots:
        return

    # 8. poweroff: pbmd stops before the bus goes away, exits 0, logs no error.
    last = journal(jdir, "-b", boots[-1], "-o", "cat", "_PID=1").splitlines()
    # The poweroff's stop is pbmd's last: the purge scenario stops it earlier.
    stopping = next((i for i in range(len(last) - 1, -1, -1)
                     if re.search(r"^Stopping .*[Ll]ight therapy panel daemon", last[i])), None)
    at_poweroff = last[stopping:] if stopping is not None else last
    def index(pattern):
        return next((i for i, line in enumerate(at_poweroff) if re.search(pattern, line)), None)
    stopped_pbmd = index(r"^Stopped .*[Ll]ight therapy panel daemon")
    stopped_dbus = index(r"^Stopped .*D-Bus System Message Bus")
    tap.result(None not in (stopping, stopped_pbmd, stopped_dbus) and stopped_pbmd < stopped_dbus,
               "poweroff: pbmd stopped before dbus-daemon")
    failed = [line for line in at_poweroff if re.search(r"pbmd\.service: (Main process exited, code=(?!exited, status=0)|Failed)", line)]
    tap.result(not failed, "poweroff: pbmd exited 0")
    for line in failed:
        tap.diag(line)
    if stopping is not None:
        errors = journal(jdir, "-b", boots[-1], "-o", "short-monotonic", "-p", "err",
                         "_SYSTEMD_UNIT=pbmd.service")
        shutdown_errors = [line for line in errors.splitlines() if not line.startswith("-- ")]
        tap.result(not shutdown_errors, "pbmd logged no error at priority err or above in the last boot")
        for line in shutdown_errors:
            tap.diag(line)

    # 12. no seccomp, namespace or permission denial for pbmd in any boot.
    denial = re.compile(r"seccomp|SECCOMP|type=1326|status=31/SYS|[Pp]ermission denied|"
                        r"[Oo]peration not permitted|namespace|EACCES|EPERM")
    lines = journal(jdir, "-o", "short-monotonic", "_SYSTEMD_UNIT=pbmd.service").splitlines()
    lines += [line for line in journal(jdir, "-o", "short-monotonic", "_PID=1").splitlines()
              if "pbmd.service" in line]
    lines += journal(jdir, "-o", "short-monotonic", "_TRANSPORT=audit").splitlines()
    lines += [line for line in journal(jdir, "-o", "short-monotonic", "-k").splitlines()
              if "audit" in line]
    denials = [line for line in lines if denial.search(line)]
    tap.result(not denials, "no seccomp, namespace or permission denial for pbmd in any boot")
    for line in denials[:20]:
        tap.diag(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the source tree")
    parser.add_argument("--panel", required=True, help="the pbm-usbredir-panel program")
    parser.add_argument("--work", required=True, help="work directory (artifacts stay here)")
    parser.add_argument("--debs", help="a directory with the built Debian packages "
                        "(default: build them from the source tree with contrib/build-debs)")
    parser.add_argument("--guest", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest"),
                        help="the guest's test files (another script, to debug in the guest)")
    parser.add_argument("--cache", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "pbmd", "system-test"),
        help="where the guest's root file system is cached")
    args = parser.parse_args()

    tap = Tap()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    t0 = time.monotonic()
    make_image(args, work, tap)

    panel_log = os.path.join(work, "panel.log")
    if os.path.exists(panel_log):
        os.unlink(panel_log)
    panel_proc = subprocess.Popen([args.panel, "--redir", os.path.join(work, "redir.sock"),
                                   "--control", os.path.join(work, "panel.sock"),
                                   "--log", panel_log])
    try:
        panel = Panel(os.path.join(work, "panel.sock"))
        for boot in range(1, BOOTS + 1):
            ending = run_boot(work, boot, panel, tap)
            want = "reboot" if boot < BOOTS else "poweroff"
            tap.result(ending == want, f"boot {boot} ended with a {want}")
            if ending != want:
                break
        check_journal(work, tap)
        light_figures(work, tap)
        panel.order("quit")
        panel_proc.wait(timeout=10)
    finally:
        if panel_proc.poll() is None:
            panel_proc.kill()
    log(tap, f"the whole suite took {time.monotonic() - t0:.0f} s; artifacts in {work}")
    tap.plan()
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
