#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One test of the desktop app (suite 'app'): the real pbm-therapy under
Xvfb, driven through AT-SPI, against the real pbmd --simulate on a private
bus.

    run-app-test.py TEST PBMD PBMCTL PBM_THERAPY SOURCE_DIR ARTIFACTS_DIR

This part sets the stage: a hermetic environment (a fresh HOME and XDG
directories, no desktop session of whoever runs the tests), then
xvfb-run ... dbus-run-session -- /usr/bin/python3 app_tests.py TEST, which
starts the bus, pbmd and the app and plays the test (app_tests.py). The
screenshots end in ARTIFACTS_DIR/TEST/, with pbmd's log and the app's
output; on failure they are printed too.

The test 'not-authorized' needs a caller pbmd refuses. Root always passes,
so as root everything of that test runs as the user nobody, from copies in
a directory nobody can read (the tree may live in root's home), as
tests/check-demo.sh does; pbmd's control group is one nobody is not in.

Anything missing (Xvfb, dbus, the app, Python's Atspi) fails the test: CI
installs them (.ci/debian-packages)."""

import glob
import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = ("session", "not-authorized", "daemon-restart", "follow-external", "keyboard")
# Debian's own interpreter: it has python3-gi; a python3 earlier on PATH
# (pyenv and the like) may not.
GI_PYTHON = "/usr/bin/python3"
# the group tests/pbm-test-fixture.h uses for a caller outside pbmd's group
NO_GROUP = "pbm-test-none"
# Each test plays for well under a minute; this bounds a hang (meson's own
# timeout is above it, so that the logs still get printed).
INNER_TIMEOUT_S = 100
# what meson sets for the sanitizers, handed to pbmd and the app
PASSED_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MALLOC_PERTURB_", "G_SLICE")


def bail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def require_tools():
    needs = {"xvfb-run": "xvfb", "Xvfb": "xvfb", "xauth": "xauth",
             "dbus-run-session": "dbus", "dbus-daemon": "dbus", "import": "imagemagick",
             "xwininfo": "x11-utils"}
    missing = sorted({f"{tool} (package {pkg})" for tool, pkg in needs.items()
                      if shutil.which(tool) is None})
    if missing:
        bail("missing: " + ", ".join(missing) + "; .ci/debian-packages lists them")
    probe = subprocess.run(
        [GI_PYTHON, "-c", "import gi; gi.require_version('Atspi', '2.0'); "
         "from gi.repository import Atspi"], capture_output=True, text=True)
    if probe.returncode != 0:
        bail(f"{GI_PYTHON} cannot import Atspi from gi (packages python3-gi, "
             f"gir1.2-atspi-2.0): {probe.stderr.strip()}")
    if not shutil.which("at-spi-bus-launcher") and not glob.glob(
            "/usr/libexec/at-spi-bus-launcher"):
        bail("at-spi-bus-launcher is missing (package at-spi2-core)")


def copy_for(work, files, source_dir):
    """Copies of the programs, the test scripts and the files they read,
    where another user can read them."""
    bin_dir = os.path.join(work, "bin")
    os.mkdir(bin_dir, 0o755)
    out = {}
    for key, path in files.items():
        out[key] = shutil.copy2(path, bin_dir)
    for script in ("app_tests.py", "pbm_desktop.py"):
        out[script] = shutil.copy2(os.path.join(HERE, script), bin_dir)
    out["bus_policy"] = shutil.copy2(os.path.join(source_dir, "data", "org.pbmd.conf"),
                                     bin_dir)
    out["lsan.supp"] = shutil.copy2(os.path.join(source_dir, "tests", "lsan.supp"), bin_dir)
    for root, dirs, names in os.walk(bin_dir):
        for n in dirs + names:
            os.chmod(os.path.join(root, n), 0o755)
    return out


def chown_tree(path, uid, gid):
    os.chown(path, uid, gid)
    for root, dirs, names in os.walk(path):
        for n in dirs + names:
            os.chown(os.path.join(root, n), uid, gid)


def hermetic_env(work):
    """The session the app gets: nothing of the caller's desktop."""
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update({
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.path.join(work, "home"),
        "XDG_RUNTIME_DIR": os.path.join(work, "runtime"),
        "XDG_CACHE_HOME": os.path.join(work, "cache"),
        "XDG_CONFIG_HOME": os.path.join(work, "config"),
        "XDG_DATA_HOME": os.path.join(work, "data"),
        "TMPDIR": "/tmp",
        "GSETTINGS_BACKEND": "memory",
        # software rendering: correct, and maps faster than GL on Mesa's
        # software path
        "GSK_RENDERER": "cairo",
        "GDK_BACKEND": "x11",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    for key in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        os.mkdir(env[key], 0o755)
    os.mkdir(env["XDG_RUNTIME_DIR"], 0o700)
    return env


def print_file(title, path):
    print(f"---- {title} ({path})")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            sys.stdout.write(f.read())
    except OSError as e:
        print(f"(cannot read: {e})")


def main():
    if len(sys.argv) != 7 or sys.argv[1] not in TESTS:
        bail(f"usage: run-app-test.py {{{','.join(TESTS)}}} PBMD PBMCTL PBM_THERAPY "
             "SOURCE_DIR ARTIFACTS_DIR")
    test = sys.argv[1]
    # meson gives built programs relative to the build directory
    pbmd, pbmctl, app, source_dir, artifacts = (os.path.abspath(a) for a in sys.argv[2:])
    for what, path in (("pbmd", pbmd), ("pbmctl", pbmctl), ("pbm-therapy", app)):
        if not os.access(path, os.X_OK):
            bail(f"{what} is not built at {path}")
    require_tools()

    runner = None
    if test == "not-authorized" and os.geteuid() == 0:
        runner = pwd.getpwnam("nobody")
        print("# as root: this test runs as the user nobody, whom pbmd refuses")

    work = tempfile.mkdtemp(prefix=f"pbm-app-{test}-", dir="/tmp")
    os.chmod(work, 0o755)
    shots = os.path.join(work, "shots")
    profiles = os.path.join(work, "profiles")
    # pbmd believes only profiles no one but their owner can change: copied
    # as a package installs them, whatever the checkout's umask
    os.mkdir(profiles, 0o755)
    for conf in glob.glob(os.path.join(source_dir, "data", "profiles", "*.conf")):
        dest = shutil.copy(conf, profiles)
        os.chmod(dest, 0o644)
    files = {"pbmd": pbmd, "pbmctl": pbmctl, "app": app}
    if runner is not None:
        files = copy_for(work, files, source_dir)
        scripts = files["app_tests.py"]
        bus_policy = files["bus_policy"]
        lsan_supp = files["lsan.supp"]
    else:
        scripts = os.path.join(HERE, "app_tests.py")
        bus_policy = os.path.join(source_dir, "data", "org.pbmd.conf")
        lsan_supp = None
    env = hermetic_env(work)
    if lsan_supp is not None and "LSAN_OPTIONS" in env:
        env["LSAN_OPTIONS"] = "suppressions=" + lsan_supp
    config = {
        "test": test,
        "work": work,
        "shots": shots,
        "profiles": profiles,
        "bus_policy": bus_policy,
        "pbmd": files["pbmd"],
        "pbmctl": files["pbmctl"],
        "app": files["app"],
        # the caller's own group passes; the refusal test uses one no one is in
        "control_group": (NO_GROUP if test == "not-authorized"
                          else grp.getgrgid(os.getegid()).gr_name),
    }
    config_path = os.path.join(work, "test.json")
    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
    if runner is not None:
        chown_tree(work, runner.pw_uid, runner.pw_gid)

    # -noreset: without it Xvfb resets when the accessibility stack's short
    # X clients leave, just as GTK connects (flaky "cannot open display")
    argv = ["xvfb-run", "-a", "-e", os.path.join(work, "xvfb.log"),
            "-f", os.path.join(work, "xauthority"),
            "-s", "-screen 0 1024x768x24 -noreset",
            "dbus-run-session", "--", GI_PYTHON, scripts, test, config_path]
    extra = {}
    if runner is not None:
        extra = {"user": runner.pw_uid, "group": runner.pw_gid, "extra_groups": []}
    print(f"# {test}: {' '.join(argv)}", flush=True)
    proc = subprocess.Popen(argv, cwd=work, env=env, start_new_session=True, **extra)
    try:
        status = proc.wait(INNER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"FAIL: the test did not end within {INNER_TIMEOUT_S} s", flush=True)
        status = -1
    # Xvfb, the session bus, the accessibility bus, pbmd: everything the
    # test started is in its process group
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        if sig == signal.SIGTERM:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
    proc.wait()

    dest = os.path.join(artifacts, test)
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    kept = sorted(glob.glob(os.path.join(shots, "*")))
    logs = sorted(glob.glob(os.path.join(work, "*.log")))
    for path in kept + logs:
        shutil.copy(path, dest)
    print(f"# screenshots and logs: {dest}")
    if status != 0:
        for path in logs:
            print_file(os.path.basename(path), path)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
