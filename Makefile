# ldapmail: one Makefile for the whole tree.
#
#   make                 lookupd/lookupd, maildirmake/ldap-maildirmake
#                        (and the test drivers; `make programs`: only the two)
#   make check           sanitizer build (ASan+UBSan, -Werror) + whole suite
#   make check-valgrind  the whole suite under valgrind memcheck (build/vg)
#   make check-long      the suite's long variants, fuzzing, tests/mutate
#   make mutate          each bug of tests/mutants.py must be caught
#   make unit            unit tests only (current build)
#   make install         PREFIX=/usr/local DESTDIR=
#
# Objects go to $(B); binaries of the default build land in the tree as the
# SPEC asks, those of other builds under $(OUT).

PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR   ?=

CC        ?= cc
PKGS      := ldap lber libcdb libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libsystemd)
# libsystemd (sd_notify: lookupd/notify.c) for what links lookupd's
# objects; ldap-maildirmake does without.
PKG_LIBS  := $(shell pkg-config --libs $(PKGS))
SD_LIBS   := $(shell pkg-config --libs libsystemd)

WARN      := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wno-unused-parameter
WERROR    ?= -Werror
CFLAGS    ?= -O2 -g
HARDEN    ?= -D_FORTIFY_SOURCE=2 -fstack-protector-strong
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(WERROR) $(HARDEN) $(CPPFLAGS) $(CFLAGS) \
             -I. $(PKG_CFLAGS) -pthread -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) -pthread

B         ?= build/rel
OUT       ?= .

COMMON_SRC  := $(sort $(wildcard common/*.c))
LOOKUPD_SRC := $(sort $(filter-out lookupd/main.c,$(wildcard lookupd/*.c)))
MDM_SRC     := $(sort $(filter-out maildirmake/main.c,$(wildcard maildirmake/*.c)))
UNIT_SRC    := $(sort $(wildcard tests/unit/t_*.c))
TOOL_SRC    := $(sort $(wildcard tests/tools/*.c))

COMMON_OBJ  := $(COMMON_SRC:%.c=$(B)/%.o)
LOOKUPD_OBJ := $(LOOKUPD_SRC:%.c=$(B)/%.o)
MDM_OBJ     := $(MDM_SRC:%.c=$(B)/%.o)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
TOOL_BIN    := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/tools/%)
# Each libFuzzer target with tests/fuzz/replay.c as its main(): replays
# its seeds and regression inputs in this build (tests/run runs them).
REPLAY_BIN  := $(patsubst tests/fuzz/%.c,$(B)/tests/fuzz/%,\
               $(sort $(wildcard tests/fuzz/fuzz_*.c)))

LOOKUPD     := $(OUT)/lookupd/lookupd
MDM         := $(OUT)/maildirmake/ldap-maildirmake
LIBS        := $(B)/liblookupd.a $(B)/libmdm.a $(B)/libcommon.a

SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined

.PHONY: all bins programs bench-tools unit unit-bins check check-build test clean install demo
all: bins
bins: $(LOOKUPD) $(MDM) $(TOOL_BIN)
programs: $(LOOKUPD) $(MDM)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libcommon.a: $(COMMON_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(B)/liblookupd.a: $(LOOKUPD_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(B)/libmdm.a: $(MDM_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LOOKUPD): $(B)/lookupd/main.o $(B)/liblookupd.a $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(SD_LIBS)
$(MDM): $(B)/maildirmake/main.o $(B)/libmdm.a $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS) $(PKG_LIBS) $(SD_LIBS)

# Small drivers the integration tests call (not installed).
$(B)/tests/tools/%: $(B)/tests/tools/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS) $(PKG_LIBS) $(SD_LIBS)

$(B)/tests/fuzz/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay.o \
    $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(B)/tests/fuzz/replay.o $(LIBS) \
	    $(PKG_LIBS) $(SD_LIBS)

unit-bins: $(UNIT_BIN) $(TOOL_BIN) $(REPLAY_BIN)
unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; exit $$fail

# Benchmark helpers (bench/*.c): programs of their own, not the product
# (those that measure a module of ours link the libraries).
BENCH_BIN := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
bench-tools: $(BENCH_BIN)
$(B)/bench/%: bench/%.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 $(WARN) $(WERROR) -I. $(PKG_CFLAGS) \
	    -pthread -o $@ $< $(LIBS) $(PKG_LIBS) $(SD_LIBS)

# The suite always runs against the sanitizer build, CHECK_JOBS test
# programs at once (2: CI's two cores; most tests wait on slapd and
# sockets, and every timing in them holds on a loaded machine).
CHECK_JOBS ?= 2
check-build:
	$(MAKE) B=build/san OUT=build/san CFLAGS="$(SAN_FLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined" HARDEN= bins unit-bins
check: check-build
	tests/run -j $(CHECK_JOBS) --bin build/san --build build/san

test: bins
	tests/run --bin . --build build/rel

# The suite under valgrind memcheck: a build without sanitizers in
# build/vg, every program under test run by valgrind (tests/run
# --valgrind: errors and leaks "definitely lost" fail), timings scaled
# by LDAPMAIL_SLOW.
VG_SLOW ?= 10
.PHONY: check-valgrind
check-valgrind:
	$(MAKE) B=build/vg OUT=build/vg CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	    bins unit-bins
	LDAPMAIL_SLOW=$(VG_SLOW) tests/run --valgrind --bin build/vg \
	    --build build/vg

# libFuzzer targets (tests/fuzz/README.md): every tests/fuzz/fuzz_*.c,
# linked against the project's own sources built for fuzzing (coverage +
# ASan + UBSan) in build/fuzz/obj; binaries in build/fuzz.  check-long is
# the suite with its long variants, then 60 s per target (FUZZ_TIME=),
# then tests/mutate.
FUZZ_CC   ?= clang
FUZZ_B    := build/fuzz
FUZZ_TIME ?= 60
FUZZ_SAN  := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_B)/%)
FUZZ_LIBS := $(FUZZ_B)/obj/liblookupd.a $(FUZZ_B)/obj/libcommon.a

.PHONY: fuzz fuzz-bins check-long
fuzz:
	$(MAKE) B=$(FUZZ_B)/obj CC=$(FUZZ_CC) HARDEN= WERROR= \
	    CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" $(FUZZ_LIBS)
	$(MAKE) fuzz-bins
fuzz-bins: $(FUZZ_BIN)
$(FUZZ_BIN): $(FUZZ_B)/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_LIBS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE $(WARN) -Werror $(FUZZ_SAN) \
	    -fsanitize=fuzzer -I. $(PKG_CFLAGS) -pthread -MMD -MP -o $@ $< \
	    $(FUZZ_LIBS) $(PKG_LIBS) $(SD_LIBS)

check-long: check-build
	@rc=0; \
	tests/run --long --bin build/san --build build/san || rc=1; \
	$(MAKE) fuzz && tests/fuzz/run-fuzz -t $(FUZZ_TIME) -b $(FUZZ_B) \
	    || rc=1; \
	tests/mutate || rc=1; \
	exit $$rc

# The mutation smoke test (tests/mutate, its bugs in tests/mutants.py):
# each deliberate bug, in a scratch copy of the tree, must be caught.
.PHONY: mutate
mutate:
	tests/mutate

# make install [PREFIX=/usr] [DESTDIR=staging]: what a Debian administrator
# expects where (tests/integration/test_install.py checks the layout):
#   $(SBINDIR)                    lookupd, ldap-maildirmake
#   $(MANDIR)/man5, man8          every man/*.5, man/*.8
#   $(SYSCONFDIR)/ldapmail/ldapmail.conf   from ldapmail.conf.example,
#                                 only if there is none (never overwritten)
#   $(UNITDIR)                    lookupd.service, ldap-maildirmake.service
#                                 and .timer, ldap-maildirmake-watch.service
#                                 (installed, not enabled)
#   $(SYSUSERSDIR), $(TMPFILESDIR)  ldapmail.conf: the user ldapmail, the
#                                 socket directory in Postfix's spool
#   $(SCHEMADIR)                  qmail.schema, qmail.ldif (not slapd's
#                                 /etc/ldap/schema: qmail-ldap's own
#                                 qmail.schema may live there); ox,
#                                 apple and jamm .schema/.ldif likewise
#   $(EXAMPLESDIR)                ldapmail.conf.example, postfix/, courier/,
#                                 slapd/, ldap-maildirmake.cron
#   $(DOCDIR)                     README.md, CHANGES
# debian/rules builds the Debian package through this target.
# The units and the cron file name $(SBINDIR) for the programs.
DATADIR     ?= $(PREFIX)/share
DOCDIR      ?= $(DATADIR)/doc/ldapmail
EXAMPLESDIR ?= $(DOCDIR)/examples
SCHEMADIR   ?= $(DATADIR)/ldapmail/schema
UNITDIR     ?= /lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
INSTALL     ?= install
SBINSUBST   := sed -e 's|/usr/sbin/lookupd|$(SBINDIR)/lookupd|g' \
               -e 's|/usr/sbin/ldap-maildirmake|$(SBINDIR)/ldap-maildirmake|g'

install: $(LOOKUPD) $(MDM)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/ldapmail \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SCHEMADIR) \
	    $(DESTDIR)$(EXAMPLESDIR)/postfix $(DESTDIR)$(EXAMPLESDIR)/courier \
	    $(DESTDIR)$(EXAMPLESDIR)/slapd
	$(INSTALL) -m 0755 $(LOOKUPD) $(MDM) $(DESTDIR)$(SBINDIR)/
	$(if $(wildcard man/*.5),$(INSTALL) -m 0644 $(wildcard man/*.5) \
	    $(DESTDIR)$(MANDIR)/man5/)
	$(if $(wildcard man/*.8),$(INSTALL) -m 0644 $(wildcard man/*.8) \
	    $(DESTDIR)$(MANDIR)/man8/)
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/ldapmail/ldapmail.conf ]; then \
	    echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/ldapmail/ldapmail.conf"; \
	else \
	    echo "$(INSTALL) -m 0644 ldapmail.conf.example $(DESTDIR)$(SYSCONFDIR)/ldapmail/ldapmail.conf"; \
	    $(INSTALL) -m 0644 ldapmail.conf.example \
	        $(DESTDIR)$(SYSCONFDIR)/ldapmail/ldapmail.conf; \
	fi
	for f in lookupd.service ldap-maildirmake.service \
	    ldap-maildirmake-watch.service; do \
	    $(SBINSUBST) scripts/$$f >$(DESTDIR)$(UNITDIR)/$$f.tmp && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$f.tmp && \
	    mv $(DESTDIR)$(UNITDIR)/$$f.tmp $(DESTDIR)$(UNITDIR)/$$f || exit 1; \
	done
	$(INSTALL) -m 0644 scripts/ldap-maildirmake.timer $(DESTDIR)$(UNITDIR)/
	$(INSTALL) -m 0644 scripts/ldapmail.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/ldapmail.conf
	$(INSTALL) -m 0644 scripts/ldapmail.tmpfiles \
	    $(DESTDIR)$(TMPFILESDIR)/ldapmail.conf
	$(INSTALL) -m 0644 schema/qmail.schema schema/qmail.ldif \
	    $(DESTDIR)$(SCHEMADIR)/
	$(INSTALL) -m 0644 schema/ox.schema schema/ox.ldif schema/apple.schema \
	    schema/apple.ldif schema/jamm.schema schema/jamm.ldif \
	    $(DESTDIR)$(SCHEMADIR)/
	$(INSTALL) -m 0644 ldapmail.conf.example $(DESTDIR)$(EXAMPLESDIR)/
	$(INSTALL) -m 0644 postfix/README postfix/main.cf.fragment \
	    postfix/main.cf.mydestination.fragment postfix/master.cf.fragment \
	    $(DESTDIR)$(EXAMPLESDIR)/postfix/
	$(INSTALL) -m 0644 courier/README courier/authldaprc \
	    courier/authldaprc.ox courier/authldaprc.jamm \
	    courier/authldaprc.apple \
	    courier/authdaemonrc.fragment \
	    $(DESTDIR)$(EXAMPLESDIR)/courier/
	$(INSTALL) -m 0644 schema/slapd.conf.example schema/slapd-ldapmail.ldif \
	    $(DESTDIR)$(EXAMPLESDIR)/slapd/
	$(SBINSUBST) scripts/ldap-maildirmake.cron \
	    >$(DESTDIR)$(EXAMPLESDIR)/ldap-maildirmake.cron
	chmod 0644 $(DESTDIR)$(EXAMPLESDIR)/ldap-maildirmake.cron
	$(INSTALL) -m 0644 README.md CHANGES $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf build lookupd/lookupd maildirmake/ldap-maildirmake

-include $(shell find build -name '*.d' 2>/dev/null)
