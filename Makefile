# husk: one entry point. `make` builds everything; `make run`, `make test` and
# `make bench` install what is missing first (scripts/install-deps.sh), then
# build in a second make, so that libraries installed by that first step are
# found (pkg-config is only asked when a compile or link needs its answer).
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib/husk
HUSK_CACHE ?= /var/cache/husk
SYSTEMDUNITDIR ?= /etc/systemd/system
# the bats helper library goes to $(BATSLIBDIR)/husk/load.bash (bats_load_library husk)
BATSLIBDIR ?= $(PREFIX)/lib/bats
B          := build
WERROR     ?= 1

CC      ?= cc
MUSLCC  ?= musl-gcc
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wformat=2 -Wno-format-truncation -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
CSTD    := -std=gnu11
OPT     ?= -O2 -g
VERSION := 0.1.0
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# includes name files from the top: #include "proto/msg.h"
DEFS    := -iquote . -D_GNU_SOURCE -DHUSK_LIBDIR='"$(LIBDIR)"' -DHUSK_VERSION='"$(VERSION)"' -DHUSK_COMMIT='"$(COMMIT)"'

HOST_PKGS := jansson libseccomp libmnl inih libapparmor libselinux
TEST_PKGS := libcbor
# evaluated on first use, once: never while the Makefile is parsed
host_pkg_cflags = $(eval host_pkg_cflags := $(shell pkg-config --cflags $(HOST_PKGS) 2>/dev/null))$(host_pkg_cflags)
host_pkg_libs = $(eval host_pkg_libs := $(shell pkg-config --libs $(HOST_PKGS) 2>/dev/null))$(host_pkg_libs)
HOST_CFLAGS = $(CSTD) $(OPT) $(WARN) $(DEFS) $(host_pkg_cflags)
HOST_LIBS   = $(host_pkg_libs) -lpthread
# musl has no kernel uapi headers: point it at the host's linux-libc-dev ones
GUEST_CFLAGS := $(CSTD) -Os $(WARN) -iquote . -D_GNU_SOURCE -static -isystem $(B)/musl-include
# each object lists the headers it read (build/**/*.d)
DEPFLAGS := -MMD -MP

COMMON_SRCS := $(wildcard common/*.c)
PROTO_SRCS  := $(wildcard proto/*.c)
# host/ in folders by concern; host/cli/main.c is the binary's entry point
HOST_DIRS   := cli container monitor pool vmm vsock spec net state
HOST_SRCS   := $(filter-out host/cli/main.c,$(foreach d,$(HOST_DIRS),$(wildcard host/$(d)/*.c)))
GUEST_SRCS  := $(wildcard guest/*.c)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)

HOST_OBJS  := $(patsubst %.c,$(B)/host-obj/%.o,$(COMMON_SRCS) $(PROTO_SRCS) $(HOST_SRCS))
GUEST_OBJS := $(patsubst %.c,$(B)/guest-obj/%.o,$(COMMON_SRCS) $(PROTO_SRCS) $(GUEST_SRCS))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
# guest logic that needs no VM, built with the host compiler for the
# tests/unit/test_guest_*.c binaries (syscall-free files, and rootfs_path.c
# which only reads links)
GUEST_HOST_SRCS := guest/cgroup_parse.c guest/ps_parse.c guest/rootfs_path.c guest/net_msg.c guest/ctr_table.c
GUEST_HOST_OBJS := $(patsubst %.c,$(B)/guest-host-obj/%.o,$(GUEST_HOST_SRCS))

.PHONY: all deps build-deps-check format kernel initramfs run test check e2e fuzz fuzz-replay bench install uninstall clean format-check
all: $(B)/husk $(B)/husk-init $(B)/initramfs.cpio.gz kernel $(B)/probe $(B)/tests/console-client \
     $(B)/tests/hostile-initramfs.cpio.gz $(B)/tests/vfs-inject $(B)/tests/pod-session

deps:
	@scripts/install-deps.sh

# one line that says what to run, instead of a wall of compiler errors
build-deps-check:
	@missing=; \
	for p in $(HOST_PKGS) $(TEST_PKGS); do pkg-config --exists $$p 2>/dev/null || missing="$$missing $$p"; done; \
	command -v $(MUSLCC) >/dev/null 2>&1 || missing="$$missing musl-gcc"; \
	if [ -n "$$missing" ]; then \
	  echo "husk: missing build dependencies:$$missing; run 'make deps' (or 'make run' / 'make test', which install them)" >&2; \
	  exit 1; \
	fi

$(B)/host-obj/%.o: %.c | build-deps-check
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/musl-include/.stamp: | build-deps-check
	@mkdir -p $(B)/musl-include
	ln -sfn /usr/include/linux $(B)/musl-include/linux
	ln -sfn /usr/include/asm-generic $(B)/musl-include/asm-generic
	ln -sfn /usr/include/$(shell gcc -print-multiarch)/asm $(B)/musl-include/asm
	@touch $@

$(B)/guest-obj/%.o: %.c $(B)/musl-include/.stamp
	@mkdir -p $(dir $@)
	$(MUSLCC) $(GUEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/libhusk.a: $(HOST_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/husk: $(B)/host-obj/host/cli/main.o $(B)/libhusk.a
	$(CC) -o $@ $^ $(HOST_LIBS)

$(B)/husk-init: $(GUEST_OBJS)
	$(MUSLCC) -static -o $@ $^

# static probe binary used by the end-to-end tests inside containers
$(B)/probe: $(wildcard tests/probe/*.c tests/probe/*.h) $(B)/musl-include/.stamp
	@mkdir -p $(dir $@)
	$(MUSLCC) $(GUEST_CFLAGS) -o $@ $(wildcard tests/probe/*.c)

$(B)/initramfs.cpio.gz: $(B)/husk-init initramfs/build.sh
	initramfs/build.sh $(B)/husk-init $@

# a PID 1 that breaks the protocol on purpose, for tests/e2e/hostile.bats
$(B)/tests/hostile-init: tests/hostile/hostile-init.c $(filter $(B)/guest-obj/proto/% $(B)/guest-obj/common/%,$(GUEST_OBJS))
	@mkdir -p $(dir $@)
	$(MUSLCC) $(GUEST_CFLAGS) -o $@ $^

$(B)/tests/hostile-initramfs.cpio.gz: $(B)/tests/hostile-init initramfs/build.sh
	initramfs/build.sh $(B)/tests/hostile-init $@

kernel:
	@mkdir -p $(B)
	@HUSK_CACHE=$(HUSK_CACHE) scripts/build-kernel.sh $(B)/vmlinux

$(B)/tests/%: tests/unit/%.c $(B)/libhusk.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -o $@ $< $(B)/libhusk.a $(HOST_LIBS) -lcbor

$(B)/guest-host-obj/%.o: %.c | build-deps-check
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/libguest-host.a: $(GUEST_HOST_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/tests/test_guest_%: tests/unit/test_guest_%.c $(B)/libguest-host.a $(B)/libhusk.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -o $@ $< $(B)/libguest-host.a $(B)/libhusk.a $(HOST_LIBS)

# test-only: husk_vfs_inject/eject on a running container (tests/e2e/share.bats)
$(B)/tests/vfs-inject: tests/tools/vfs-inject.c $(B)/libhusk.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -o $@ $< $(B)/libhusk.a $(HOST_LIBS)

# test-only: a session of its own to a VM, as a pod member's monitor (tests/e2e/pods_guest.bats)
$(B)/tests/pod-session: tests/tools/pod-session.c $(B)/libhusk.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -o $@ $< $(B)/libhusk.a $(HOST_LIBS)

$(B)/tests/console-client: tests/tools/console-client.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $<

-include $(shell find $(B) -name '*.d' 2>/dev/null)

check: $(UNIT_BINS)
	@tests/unit/run.sh $(UNIT_BINS)

# deps first, then a second make: it sees the libraries deps installed
run: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run-all.sh

e2e: all
	@bats tests/e2e

fuzz:
	@tests/fuzz/run.sh

# replays the committed corpora under ASan/UBSan: quick and deterministic
fuzz-replay:
	@tests/fuzz/run.sh replay

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)
	install -m 0755 $(B)/husk $(DESTDIR)$(PREFIX)/bin/husk
	install -m 0644 $(B)/vmlinux $(DESTDIR)$(LIBDIR)/vmlinux
	install -m 0644 $(B)/initramfs.cpio.gz $(DESTDIR)$(LIBDIR)/initramfs.cpio.gz
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|@BINDIR@|$(PREFIX)/bin|' systemd/husk-pool.service.in \
	  > $(DESTDIR)$(SYSTEMDUNITDIR)/husk-pool.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/husk-pool.service
	install -d $(DESTDIR)$(BATSLIBDIR)/husk
	install -m 0644 tests/bats-lib/husk/load.bash $(DESTDIR)$(BATSLIBDIR)/husk/load.bash

# removes exactly what install put there (and the lib dirs if they are empty)
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/husk $(DESTDIR)$(LIBDIR)/vmlinux $(DESTDIR)$(LIBDIR)/initramfs.cpio.gz
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/husk-pool.service
	-rmdir $(DESTDIR)$(LIBDIR) 2>/dev/null
	rm -f $(DESTDIR)$(BATSLIBDIR)/husk/load.bash
	-rmdir $(DESTDIR)$(BATSLIBDIR)/husk $(DESTDIR)$(BATSLIBDIR) 2>/dev/null

FORMAT_FILES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null)
format:
	@clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(B)
