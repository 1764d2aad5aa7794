# ldapmail: one Makefile for the whole tree.
#
#   make                 lookupd/lookupd, maildirmake/ldap-maildirmake
#   make check           sanitizer build (ASan+UBSan, -Werror) + whole suite
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
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS  := $(shell pkg-config --libs $(PKGS))

WARN      := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wno-unused-parameter
WERROR    ?= -Werror
CFLAGS    ?= -O2 -g
HARDEN    ?= -D_FORTIFY_SOURCE=2 -fstack-protector-strong
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(WERROR) $(HARDEN) $(CFLAGS) \
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

LOOKUPD     := $(OUT)/lookupd/lookupd
MDM         := $(OUT)/maildirmake/ldap-maildirmake
LIBS        := $(B)/liblookupd.a $(B)/libmdm.a $(B)/libcommon.a

SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined

.PHONY: all bins bench-tools unit unit-bins check check-build test clean install demo
all: bins
bins: $(LOOKUPD) $(MDM) $(TOOL_BIN)

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
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(MDM): $(B)/maildirmake/main.o $(B)/libmdm.a $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS) $(PKG_LIBS)

# Small drivers the integration tests call (not installed).
$(B)/tests/tools/%: $(B)/tests/tools/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS) $(PKG_LIBS)

unit-bins: $(UNIT_BIN) $(TOOL_BIN)
unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; exit $$fail

# Benchmark helpers (bench/*.c): standalone programs, not the product.
BENCH_BIN := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
bench-tools: $(BENCH_BIN)
$(B)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 $(WARN) $(WERROR) -pthread -o $@ $<

# The suite always runs against the sanitizer build.
check-build:
	$(MAKE) B=build/san OUT=build/san CFLAGS="$(SAN_FLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined" HARDEN= bins unit-bins
check: check-build
	tests/run --bin build/san --build build/san

test: bins
	tests/run --bin . --build build/rel

clean:
	rm -rf build lookupd/lookupd maildirmake/ldap-maildirmake

-include $(shell find build -name '*.d' 2>/dev/null)
