#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The build enforces the rooms of DESIGN.md (README.md, "Layout").

For every room, takes the compiler command the build really uses for one of
its sources (compile_commands.json) and compiles one-line probes with it:
each header of a room it may not use must fail as "No such file", and at
least one header of each room it may use must compile. Prints TAP.

usage: check-layering.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile

# Which rooms each room may include (README.md, "Layout"). The daemon may
# use every room and is not probed.
ALLOWED = {
    'common': [],
    'protocol': [],
    'sim': ['protocol'],
    'panel': ['protocol', 'sim', 'common'],
    'profile': ['protocol', 'common'],
    'session': ['panel', 'profile', 'protocol', 'common'],
    'history': [],
    'client': ['common', 'profile', 'protocol'],
    'app': ['common'],
    # pbm-gadget: the firmware model on a board; profile only for its
    # libconfig reader (pbm-conf-file.h).
    'gadget': ['protocol', 'sim', 'common', 'profile'],
}
ROOMS = ['common', 'protocol', 'sim', 'panel', 'profile', 'session', 'history', 'daemon',
         'client', 'app', 'gadget']
# Object-file flags that a syntax-only probe must not carry.
DROP_WITH_ARG = {'-o', '-c', '-MQ', '-MF', '-MT'}
DROP_ALONE = {'-MD', '-MMD'}


def headers(src, room):
    names = sorted(f for f in os.listdir(os.path.join(src, 'src', room)) if f.endswith('.h'))
    if room == 'protocol':
        names.append('pbmd/protocol.h')
    return names


def command_for(commands, src, room):
    prefix = os.path.join(src, 'src', room) + os.sep
    for entry in commands:
        path = os.path.normpath(os.path.join(entry['directory'], entry['file']))
        if path.startswith(prefix) and path.endswith('.c'):
            return entry
    return None


def probe(entry, header, tmp):
    source = os.path.join(tmp, 'probe.c')
    with open(source, 'w') as f:
        f.write('#include "%s"\n' % header)
    args = shlex.split(entry['command']) if 'command' in entry else list(entry['arguments'])
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in DROP_WITH_ARG:
            skip = True
        elif a not in DROP_ALONE and a != entry['file']:
            out.append(a)
    out += ['-fsyntax-only', source]
    r = subprocess.run(out, cwd=entry['directory'], capture_output=True, text=True)
    return r.returncode == 0, r.stderr


def main():
    build, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with open(os.path.join(build, 'compile_commands.json')) as f:
        commands = json.load(f)
    cases = []
    for room, allowed in ALLOWED.items():
        entry = command_for(commands, src, room)
        if entry is None:
            cases.append((False, '%s: no compile command found in the build' % room, ''))
            continue
        for other in ROOMS:
            if other == room or other == 'daemon' and room == 'daemon':
                continue
            if other == 'client':
                continue  # pbmctl has no headers of its own
            names = headers(src, other)
            with tempfile.TemporaryDirectory() as tmp:
                results = [(h,) + probe(entry, h, tmp) for h in names]
            if other in allowed:
                ok = any(r[1] for r in results)
                why = '' if ok else results[0][2]
                cases.append((ok, '%s may include %s (%s)' % (room, other,
                              ', '.join(h for h, good, _ in results if good) or 'none compiles'),
                              why))
                continue
            for h, good, err in results:
                refused = not good and ('%s: No such file' % h) in err
                cases.append((refused, '%s may not include %s: "%s" fails to compile' % (room, other, h),
                              err if not refused else ''))
    print('1..%d' % len(cases))
    failed = 0
    for i, (ok, name, why) in enumerate(cases, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, name))
        if not ok:
            failed += 1
            for line in why.splitlines()[:8]:
                print('# ' + line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
