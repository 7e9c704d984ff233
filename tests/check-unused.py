#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every global function of src/ is called from outside its own file.

Reads the object files the build really made: compile_commands.json names
the source of each, and nm lists what each defines and what it references.
A function defined (nm type T) by an object compiled from src/ passes when
another object compiled from src/ references it: a room library, pbmd's
main.c or pbmctl. Otherwise it fails, saying which of these it is:

- nothing outside its own file calls it: make it static, or remove it;
- only tests call it: production code has no test hooks (DESIGN.md), so
  move it into tests/, or give it a caller in pbmd or pbmctl.

References from tests/ count only for the functions in TEST_API below,
each with the reason it is deliberately there for tests: mostly the
virtual panel's physical world (its button, ambient temperature, a pulled
cable) and parsing from memory for the fuzzers. Also exempt: main;
*_get_type, which G_DECLARE_*_TYPE requires to be global even when only its
own file uses the type; *_error_quark, a room's error domain, which callers
match on whether or not one does yet.

The check works per object file, not per call graph: a function called only
by another unused function passes until that one is gone (the next run then
names it). Prints TAP, one case per function.

usage: check-unused.py BUILD_DIR SOURCE_DIR
"""
import collections
import json
import os
import subprocess
import sys

# Functions that only tests call, on purpose. name: why.
TEST_API = {
    'pbm_gadget_panel_sensing': 'tests wait for the sensor read its thread runs before they look at the outputs',
    'pbm_config_load_data': 'the configuration fuzzer parses text from memory',
    'pbm_profile_load_data': 'the profile fuzzer and tests parse text from memory',
    'pbm_events_describe': 'names event bits in test output and is fuzzed with the codec',
    'pbm_format_clock_time': 'tests predict the time a refusal names',
    'pbm_history_entry_free': 'g_autoptr(PbmHistoryEntry); pbmd frees entries with their array',
    'pbm_history_get': 'tests read a session back as it was recorded',
    'pbm_history_open_at': 'injects the time that names a moved-aside damaged file',
    'pbm_sim_transport_get_sim': 'the firmware model behind a simulated panel, for tests',
    'pbm_sim_transport_sync': 'delivers the model\'s reports after a test changed it',
    'pbm_sim_transport_unplug': 'pulls the simulated panel\'s cable',
    'pbm_sim_get_channels': 'what a probe sees: the model\'s calibration',
    'pbm_sim_get_info': 'what a probe sees: the model\'s identity',
    'pbm_sim_get_output_changes': 'what a probe sees: how often the output changed',
    'pbm_sim_get_status': 'what a probe sees: the model\'s status',
    'pbm_sim_get_temperature': 'what a probe sees: the board temperature',
    'pbm_sim_is_lit': 'what a probe sees: whether any LED is on',
    'pbm_sim_pending_reports': 'the model\'s report queue, for its own tests',
    'pbm_sim_press_button': 'the physical world: the stop button',
    'pbm_sim_reset': 'the physical world: a power cycle',
    'pbm_sim_set_ambient': 'the physical world: the room temperature',
    'pbm_sim_set_fan_stalled': 'the physical world: a stalled fan',
    'pbm_sim_set_led_string_fault': 'the physical world: a broken LED string',
}

EXEMPT_SUFFIXES = ('_get_type', '_error_quark')
EXEMPT = {'main'}


def objects(build, src):
    """{object path: source path relative to src} for every compiled file."""
    with open(os.path.join(build, 'compile_commands.json')) as f:
        commands = json.load(f)
    result = {}
    for entry in commands:
        source = os.path.normpath(os.path.join(entry['directory'], entry['file']))
        output = os.path.normpath(os.path.join(entry['directory'], entry['output']))
        result[output] = os.path.relpath(source, src)
    return result


def read_symbols(paths):
    """{object: (defined functions, referenced symbols)} from one nm run."""
    symbols = {p: (set(), set()) for p in paths}
    out = subprocess.run(['nm', '-P', '-A'] + sorted(paths), capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        where, _, rest = line.rpartition(': ')
        fields = rest.split()
        if where not in symbols or len(fields) < 2:
            continue
        if fields[1] == 'T':
            symbols[where][0].add(fields[0])
        elif fields[1] == 'U':
            symbols[where][1].add(fields[0])
    return symbols


def verdict(name, source, callers):
    """(ok, description) of one function given {source of each referencing object}."""
    production = sorted(c for c in callers if c.startswith('src/'))
    tests = sorted(c for c in callers if not c.startswith('src/'))
    if production:
        return True, '%s (%s) is called from %s' % (name, source, ', '.join(production))
    if name in TEST_API and tests:
        return True, '%s (%s) is test API: %s' % (name, source, TEST_API[name])
    if tests:
        return False, ('%s (%s) is called only by tests (%s): move it into tests/ or give it '
                       'a caller in pbmd or pbmctl' % (name, source, ', '.join(tests)))
    return False, ('%s (%s) is called by nothing outside its file: make it static or remove it'
                   % (name, source))


def main():
    build, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    sources = objects(build, src)
    missing = sorted(sources[o] for o in sources if not os.path.exists(o))
    if missing:
        print('1..1')
        print('not ok 1 - the build is incomplete; build it first (ninja -C %s)' % build)
        for m in missing:
            print('# no object for %s' % m)
        return 1
    try:
        symbols = read_symbols(sources)
    except FileNotFoundError:
        print('1..1')
        print('not ok 1 - nm is not installed; apt-get install binutils')
        return 1
    callers = collections.defaultdict(set)
    for obj, (_, refs) in symbols.items():
        for name in refs:
            callers[name].add(sources[obj])
    cases = []
    for obj, (defined, _) in symbols.items():
        source = sources[obj]
        if not source.startswith('src/'):
            continue
        for name in defined:
            if name in EXEMPT or name.endswith(EXEMPT_SUFFIXES):
                continue
            cases.append((source, name) + verdict(name, source, callers[name] - {source}))
    defined = {name for _, name, _, _ in cases}
    stale = sorted(set(TEST_API) - defined)
    print('1..%d' % (len(cases) + len(stale)))
    failed = 0
    for i, (_, name, ok, text) in enumerate(sorted(cases), 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, text))
        failed += not ok
    for i, name in enumerate(stale, len(cases) + 1):
        print('not ok %d - tests/check-unused.py lists %s, which src/ no longer defines '
              'globally' % (i, name))
        failed += 1
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
