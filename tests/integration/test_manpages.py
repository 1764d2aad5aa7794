#!/usr/bin/env python3
"""test_manpages: the manual pages render cleanly and lookupd(8) matches
`lookupd --help`.

- every man/*.[58]: `mandoc -T lint -W warning` says nothing; at style
  level only cross references to pages this host lacks are mentioned;
  `man --warnings -l` (MANWIDTH=80) renders it with nothing on stderr
  (lookupd(8): and no line wider than 80 columns);
- the SYNOPSIS of lookupd(8) lists exactly the commands of `lookupd
  --help`, with the same arguments, and the same options before them;
- every command has its EXIT STATUS entry.
"""
import glob
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

PAGES = sorted(glob.glob(os.path.join(t.SRC, "man", "*.[58]")))
LOOKUPD_8 = os.path.join(t.SRC, "man", "lookupd.8")


def plain(text):
    """Rendered text without overstrike (bold, underline)."""
    return re.sub(r".\x08", "", text)


def render(page, width=80):
    return t.run(["man", "--warnings", "-l", page], timeout=60,
                 env={"MANWIDTH": str(width), "MANPAGER": "cat",
                      "PAGER": "cat", "MAN_KEEP_FORMATTING": None})


def section(text, name):
    """Lines of the rendered section NAME (without its heading)."""
    out, inside = [], False
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Z ]+$", line):
            inside = line.strip() == name
            continue
        if inside:
            out.append(line)
    return out


@t.test
def pages_exist():
    names = [os.path.basename(p) for p in PAGES]
    for want in ("lookupd.8",):
        t.ok(want in names, "man/%s exists" % want, names)


@t.test
def mandoc_lint():
    if shutil.which("mandoc") is None:
        t.skip("mandoc -T lint", "mandoc is not installed (apt-get install "
               "mandoc)")
        return
    for page in PAGES:
        name = os.path.basename(page)
        r = t.run(["mandoc", "-T", "lint", "-W", "warning", page])
        t.eq((r.rc, r.out, r.err), (0, "", ""),
             "%s: mandoc -T lint -W warning is clean" % name)
        r = t.run(["mandoc", "-T", "lint", page])
        others = [ln for ln in r.out.splitlines()
                  if "referenced manual not found" not in ln]
        t.eq(others, [], "%s: style: only references to pages this host "
             "lacks" % name)


@t.test
def man_renders():
    if shutil.which("man") is None:
        t.skip("man -l", "man is not installed")
        return
    for page in PAGES:
        name = os.path.basename(page)
        r = render(page)
        t.eq((r.rc, r.err), (0, ""), "%s: man --warnings -l renders it "
             "without a warning" % name)
        text = plain(r.out)
        t.ok(len(text.splitlines()) > 20, "%s: rendered text" % name)
        wide = [ln for ln in text.splitlines() if len(ln) > 80]
        if page == LOOKUPD_8:
            t.eq(wide, [], "%s: no line wider than 80 columns" % name)
        elif wide:
            t.note("%s: %d lines wider than 80 columns" % (name, len(wide)))
        t.ok("EXAMPLES" in text.splitlines(), "%s: has EXAMPLES" % name)


def help_commands():
    r = t.run([t.LOOKUPD, "--help"])
    lines = r.out.splitlines()
    i = lines.index("commands:")
    cmds = []
    for ln in lines[i + 1:]:
        if not ln.strip():
            break
        cmds.append(re.split(r"\s{2,}", ln.strip())[0])
    return r, lines[0], cmds


@t.test
def lookupd_help_matches_synopsis():
    r, usage, cmds = help_commands()
    t.eq(r.rc, 0, "lookupd --help exits 0")
    t.eq(t.run([t.LOOKUPD, "-h"]).out, r.out, "-h prints the same")
    t.eq(usage, "usage: lookupd [-c FILE] [-v] COMMAND [ARGS]",
         "the usage line")
    man = plain(render(LOOKUPD_8, width=200).out)
    syn = [ln.strip() for ln in section(man, "SYNOPSIS") if ln.strip()]
    prefix = "lookupd [-c file] [-v] "
    man_cmds = [ln[len(prefix):] for ln in syn if ln.startswith(prefix)]
    rest = [ln for ln in syn if not ln.startswith(prefix)]
    t.eq(rest, ["lookupd -h | --help"], "the SYNOPSIS: -h | --help besides "
         "the commands")
    t.eq([c.lower() for c in cmds], [c.lower() for c in man_cmds],
         "the commands of --help and of the SYNOPSIS, in order, with their "
         "arguments")
    for word in ("serve", "sync", "query", "check", "lint", "route",
                 "stats"):
        t.ok(any(c.split()[0] == word for c in cmds),
             "--help lists %s" % word, cmds)
    exits = "\n".join(section(man, "EXIT STATUS"))
    for c in sorted({c.split()[0] for c in cmds}):
        t.ok(re.search(r"(?m)^\s+(\S+, )*%s\b" % c, exits),
             "EXIT STATUS has %s" % c, exits[:300])
    t.ok("SIGHUP" in man and "SIGTERM" in man, "signals are documented")
    for f in ("/etc/ldapmail/ldapmail.conf", "/var/lib/ldapmail/map.cdb",
              "/var/lib/ldapmail/map.cdb.sha256"):
        t.ok(f in section(man, "FILES")[0] + "\n".join(
            section(man, "FILES")), "FILES has %s" % f)


if __name__ == "__main__":
    t.main()
