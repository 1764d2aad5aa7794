"""srctree: a copy of the working tree, as it is now, for the tests and
tools that build or change a tree of their own (test_deb, tests/mutate);
the working tree itself is only read.

copy_tree(src, dst) copies every file git knows or would add (git
ls-files --cached --others --exclude-standard: tracked files, as they are
in the working tree, and new files not ignored), symlinks as symlinks;
without git, every file but build/, demo/, .git/, __pycache__/ and the
two programs.  Returns the number of files copied.  Limits: files deleted
but not yet committed are left out; file modes and times are kept,
owners are not.
"""
import os
import shutil
import subprocess

_SKIP = ("build", "demo", ".git", "lookupd/lookupd",
         "maildirmake/ldap-maildirmake")


def _names(src):
    try:
        r = subprocess.run(["git", "-C", src, "ls-files", "-z", "--cached",
                            "--others", "--exclude-standard"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)
    except OSError:
        r = None
    if r is not None and r.returncode == 0:
        return sorted(set(n for n in r.stdout.decode().split("\0") if n))
    names = []
    for d, dirs, files in os.walk(src):
        rel = os.path.relpath(d, src)
        dirs[:] = [x for x in dirs if os.path.normpath(
            os.path.join(rel, x)) not in _SKIP and x != "__pycache__"]
        names += [os.path.normpath(os.path.join(rel, f)) for f in files
                  if os.path.normpath(os.path.join(rel, f)) not in _SKIP]
    return sorted(names)


def copy_tree(src, dst):
    n = 0
    for rel in _names(src):
        s = os.path.join(src, rel)
        if not os.path.lexists(s):
            continue                    # deleted, not yet committed
        d = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(s, d, follow_symlinks=False)
        n += 1
    return n
