# socks4wrap: one plain, non-recursive Makefile.
#
#   make                 the product: the library, the supervisor, the launcher,
#                        socks4wrap-query and the man pages; nothing else
#   make check           the test programs, then the unit and bats tests
#   make check-unit      the unit tests alone (debian/rules runs these)
#   make check SANITIZE=address,undefined
#   make demo            a proxied fetch and an active-mode FTP download
#   make install PREFIX=/usr DESTDIR=/tmp/pkg
#   make version         print the version (debian/changelog's top entry)
#   make V=1             show the commands
#
# Local settings go in config.mak (not tracked).

# The version, in one place: the top entry of debian/changelog, without a
# Debian revision. socks4wrap --version, socks4wrap-query, the man pages
# and the package all take it from there; a release is a new changelog
# entry (dch -v X.Y.Z), and tests/deb.bats checks that they agree. DATE,
# that entry's day, dates the man pages.
CHANGELOG = debian/changelog
VERSION  := $(shell sed -n '1{s/^[^ ]* .\([^ ]*\). .*/\1/;s/^[0-9]*://;s/-[^-]*$$//;p;}' $(CHANGELOG))
DATE     := $(shell LC_ALL=C date -u +%Y-%m-%d -d "$$(sed -n 's/^ -- .*>  //p' $(CHANGELOG) | head -n 1)")
$(if $(VERSION),,$(error cannot read the version from $(CHANGELOG)))
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
LIBDIR   ?= $(PREFIX)/lib/socks4wrap
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)

CC       ?= cc
CFLAGS   ?= -O2 -g
LDFLAGS  ?=
SANITIZE ?=

-include config.mak

WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASEFLAGS = -std=c11 -D_GNU_SOURCE -fPIC $(WARN) \
            -DSOCKS4WRAP_VERSION='"$(VERSION)"' -DSOCKS4WRAP_SYSCONFDIR='"$(SYSCONFDIR)"' -Isrc/core
ifneq ($(SANITIZE),)
SANFLAGS  = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ALL_CFLAGS = $(BASEFLAGS) $(SANFLAGS) $(CFLAGS)

ifeq ($(V),1)
Q =
else
Q = @
endif

B = build

# The shared core (src/core): the protocol, the settings, the routing and
# the log, which know nothing of how a call was caught. Every program
# below links what it needs of it.
CORE_SRCS = src/core/socks4.c src/core/addr.c src/core/route.c src/core/config.c src/core/log.c \
            src/core/clock.c
# The policy (where a call goes), for both front ends.
POLICY_SRCS = src/core/policy.c src/core/primary.c src/core/names.c src/core/idn.c

# The library (src/preload): the core and the hooks, only the hooks exported.
SHIM_SRCS = $(CORE_SRCS) $(POLICY_SRCS) src/core/fdstate.c src/core/handshake.c \
            src/core/elfinfo.c src/core/cmdpath.c \
            src/preload/real.c src/preload/init.c src/preload/drive.c \
            src/preload/hooks_connect.c src/preload/hooks_bind.c src/preload/hooks_fd.c \
            src/preload/hooks_io.c src/preload/hooks_dl.c src/preload/hooks_exec.c \
            src/preload/hooks_names.c
SHIM_OBJS = $(SHIM_SRCS:%.c=$(B)/%.o)
LIB       = $(B)/libsocks4wrap.so

# The bundled server shares the codec with the shim.
SERVER_SRCS = tests/server/options.c tests/server/misbehave.c tests/server/loop.c \
              tests/server/session.c tests/server/relay.c tests/server/resolve.c \
              src/core/socks4.c src/core/addr.c src/core/route.c src/core/log.c src/core/clock.c
SERVER_OBJS = $(SERVER_SRCS:%.c=$(B)/%.o)
SERVER      = $(B)/socks4d

# socks4wrap --dry-run's printer: the shim's own settings code, as a program
# installed next to the library.
QUERY_SRCS = src/launcher/query.c src/core/config.c src/core/route.c src/core/addr.c \
             src/core/socks4.c src/core/log.c $(POLICY_SRCS)
QUERY_OBJS = $(QUERY_SRCS:%.c=$(B)/%.o)
QUERY      = $(B)/socks4wrap-query

# The syscall-mode supervisor: a seccomp listener serving the program's
# socket calls, on the same settings and routing code as the library.
SUP_SRCS = src/supervisor/sup.c src/supervisor/sup_filter.c src/supervisor/sup_abi.c \
           src/supervisor/sup_notify.c src/supervisor/sup_bind.c src/supervisor/sup_exchange.c \
           src/supervisor/sup_socks.c \
           src/core/handshake.c $(CORE_SRCS) $(POLICY_SRCS)
SUP_OBJS = $(SUP_SRCS:%.c=$(B)/%.o)
SUP      = $(B)/socks4wrap-sup

# socks4wrap, the command (src/launcher/launch.c): the settings code linked in,
# built static, against musl when musl-gcc is there (glibc's own static
# start-up costs half of /bin/true; musl's next to nothing), and dynamic
# under SANITIZE. $(B)/socks4wrap finds the library beside itself; the
# copy make install installs has LIBDIR built in.
LAUNCH_SRCS    = src/launcher/launch.c src/core/elfinfo.c src/core/cmdpath.c src/core/log.c \
                 src/core/config.c src/core/route.c src/core/addr.c
MUSL_CC       ?= $(shell command -v musl-gcc 2>/dev/null)
ifeq ($(SANITIZE),)
# musl-gcc only when it builds the launcher's own sources (scripts/probe-cc)
MUSL_OK       := $(if $(MUSL_CC),$(shell sh scripts/probe-cc $(B)/probe/musl $(MUSL_CC) \
		   $(filter-out -fPIC,$(BASEFLAGS)) -static -- $(LAUNCH_SRCS)))
LAUNCH_CC     ?= $(if $(filter yes,$(MUSL_OK)),$(MUSL_CC),$(CC))
LAUNCH_LDFLAGS = -static
else
LAUNCH_CC     ?= $(CC)
LAUNCH_LDFLAGS =
endif
LAUNCH_CFLAGS  = $(filter-out -fPIC,$(ALL_CFLAGS))
LAUNCH_OBJS    = $(LAUNCH_SRCS:%.c=$(B)/launch/%.o)
LAUNCH         = $(B)/socks4wrap
INST_OBJS      = $(LAUNCH_SRCS:%.c=$(B)/inst/%.o)
INST_LAUNCH    = $(B)/inst/socks4wrap

# Unit tests: one program per pure module.
UNIT_NAMES = test_socks4 test_route test_config test_handshake test_fdstate test_primary
UNIT_NAMES += test_elfinfo
UNIT_NAMES += test_names test_idn
UNIT_NAMES += test_cmdpath test_log
UNIT_NAMES += test_policy
UNIT_BINS  = $(UNIT_NAMES:%=$(B)/%)

# Small C programs the integration tests run under the shim.
TOOL_NAMES = s4probe s4edge s4loop s4bench s4sig s4corner s4exec
TOOL_NAMES += s4gai
TOOL_BINS  = $(TOOL_NAMES:%=$(B)/%)
# ... and linked statically, for the syscall mode (the contract files run
# them there: tests/helpers/common.bash, s4_tool).
STATIC_TOOL_NAMES = s4probe s4edge s4sys s4sig s4corner s4loop
STATIC_TOOL_BINS  = $(STATIC_TOOL_NAMES:%=$(B)/%-static)
# ... and as 32-bit (i386) programs, for the syscall mode's i386 calls,
# when the compiler can build them (gcc-multilib; tests/deps): the tests
# that run them skip without, naming the package. The probe compiles the
# tools' own sources (scripts/probe-cc), and only for the goals that
# build them.
M32_CC ?= $(CC)
TEST_GOALS = check check-unit test-progs bench demo
ifneq ($(filter $(TEST_GOALS),$(MAKECMDGOALS)),)
M32_OK := $(shell sh scripts/probe-cc $(B)/probe/m32 $(M32_CC) $(BASEFLAGS) -m32 -static -- \
	    $(STATIC_TOOL_NAMES:%=tests/tools/%.c))
endif
ifeq ($(M32_OK),yes)
STATIC32_TOOL_BINS = $(STATIC_TOOL_NAMES:%=$(B)/%-static32)
endif

# The product, and nothing else: what make install installs.
all: $(LIB) $(SUP) $(LAUNCH) $(QUERY)

# What the tests and the bench run besides the product.
test-progs: $(SERVER) $(UNIT_BINS) $(TOOL_BINS) $(STATIC_TOOL_BINS) $(STATIC32_TOOL_BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fvisibility=hidden -MMD -MP -c -o $@ $<

$(LIB): $(SHIM_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -shared -Wl,-z,defs -Wl,--as-needed -o $@ $(SHIM_OBJS) $(LDFLAGS) -ldl -lpthread

$(SERVER): $(SERVER_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(SERVER_OBJS) $(LDFLAGS) -lpthread

$(QUERY): $(QUERY_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(QUERY_OBJS) $(LDFLAGS)

$(SUP): $(SUP_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(SUP_OBJS) $(LDFLAGS) -lpthread

$(B)/launch/%.o: %.c $(B)/launch/cc
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(LAUNCH_CC) $(LAUNCH_CFLAGS) -MMD -MP -c -o $@ $<

$(LAUNCH): $(LAUNCH_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LAUNCH_CC) $(LAUNCH_CFLAGS) $(LAUNCH_LDFLAGS) -o $@ $(LAUNCH_OBJS) $(LDFLAGS)

# The installed copy: its own objects, with the paths make install is
# given, so that installing never rebuilds what make check built.
$(B)/inst/%.o: %.c $(B)/inst/paths
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(LAUNCH_CC) $(LAUNCH_CFLAGS) -DSOCKS4WRAP_LIBDIR='"$(LIBDIR)"' -MMD -MP -c -o $@ $<

$(INST_LAUNCH): $(INST_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LAUNCH_CC) $(LAUNCH_CFLAGS) $(LAUNCH_LDFLAGS) -o $@ $(INST_OBJS) $(LDFLAGS)

$(B)/inst/paths: FORCE
	@mkdir -p $(B)/inst
	@echo '$(LIBDIR) $(SYSCONFDIR)' | cmp -s - $@ || echo '$(LIBDIR) $(SYSCONFDIR)' >$@

$(B)/launch/src/core/config.o: $(B)/sysconfdir

# The launcher's compiler is musl-gcc once musl-tools is installed: a
# stamp holding it rebuilds the launcher when it changes.
$(B)/launch/cc: FORCE
	@mkdir -p $(B)/launch
	@echo '$(LAUNCH_CC)' | cmp -s - $@ || echo '$(LAUNCH_CC)' >$@

# config.c has SYSCONFDIR built in: a stamp holding the value rebuilds it
# when the value changes, so `make install PREFIX=/usr` after a plain
# `make` installs a library that reads /etc/socks4rc.
$(B)/src/core/config.o: $(B)/sysconfdir
$(B)/sysconfdir: FORCE
	@mkdir -p $(B)
	@echo '$(SYSCONFDIR)' | cmp -s - $@ || echo '$(SYSCONFDIR)' >$@
FORCE:

# The same for the version, in the programs that print it: socks4wrap-query
# and the launcher, both its copies.
$(B)/src/launcher/query.o $(B)/src/preload/init.o $(B)/launch/src/launcher/launch.o \
$(B)/inst/src/launcher/launch.o: $(B)/version
$(B)/version: FORCE
	@mkdir -p $(B)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@

# The man pages as installed: their .TH line carries the version and date,
# and socks4wrap(1) names the library directory. The stamp holds the three.
MAN_PAGES = $(B)/man/socks4wrap.1 $(B)/man/socks4rc.5
all: $(MAN_PAGES)
$(B)/man/%: man/% $(B)/man-vars
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)sed -e '/^\.TH /s|@VERSION@|$(VERSION)|' -e '/^\.TH /s|@DATE@|$(DATE)|' \
	    -e 's|@LIBDIR@|$(LIBDIR)|g' $< >$@
$(B)/man-vars: FORCE
	@mkdir -p $(B)
	@echo '$(VERSION) $(DATE) $(LIBDIR)' | cmp -s - $@ || echo '$(VERSION) $(DATE) $(LIBDIR)' >$@

version:
	@echo '$(VERSION)'

# Unit tests link the pure modules directly, not the preloadable library.
UNIT_DEPS = $(B)/src/core/socks4.o $(B)/src/core/addr.o $(B)/src/core/route.o $(B)/src/core/config.o
# The engine's own tests link the modules under test, still no hooks.
$(B)/test_handshake: $(B)/src/core/handshake.o $(B)/src/core/log.o $(B)/src/core/clock.o
$(B)/test_fdstate: $(B)/src/core/fdstate.o $(B)/src/core/log.o
$(B)/test_primary: $(B)/src/core/primary.o
$(B)/test_policy: $(B)/src/core/policy.o $(B)/src/core/primary.o $(B)/src/core/names.o \
                  $(B)/src/core/log.o $(B)/src/core/handshake.o $(B)/src/core/clock.o
$(B)/test_%: $(B)/tests/unit/test_%.o $(UNIT_DEPS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lpthread

$(B)/s4bench: $(B)/tests/tools/s4bench.o $(B)/src/core/socks4.o
$(B)/s4loop: $(B)/tests/tools/s4loop.o $(B)/src/core/clock.o
$(B)/s4loop-static $(B)/s4loop-static32: src/core/clock.c
$(B)/test_names: $(B)/src/core/names.o
$(B)/test_idn: $(B)/src/core/idn.o
$(B)/test_elfinfo: $(B)/src/core/elfinfo.o
$(B)/test_cmdpath: $(B)/src/core/cmdpath.o $(B)/src/core/elfinfo.o
$(B)/test_log: $(B)/src/core/log.o

# The same test programs linked statically, for the syscall mode: the
# preload cannot reach them. Not sanitized (the sanitizers' runtimes do
# not link statically).
$(B)/%-static: tests/tools/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) -static -o $@ $(filter %.c,$^) $(LDFLAGS) -lpthread

$(B)/%-static32: tests/tools/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(M32_CC) $(BASEFLAGS) $(CFLAGS) -m32 -static -o $@ $(filter %.c,$^) $(LDFLAGS) -lpthread

$(B)/%: $(B)/tests/tools/%.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lpthread

# libFuzzer harnesses, one per parser: make fuzz [FUZZ_SECONDS=600]
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_NAMES    = fuzz_reply fuzz_request fuzz_config fuzz_elfinfo fuzz_names fuzz_idn
FUZZ_BINS     = $(FUZZ_NAMES:%=$(B)/fuzz/%)
FUZZ_CFLAGS   = $(filter-out -fPIC,$(BASEFLAGS)) -g -O1 -fsanitize=fuzzer,address,undefined

$(B)/fuzz/fuzz_reply: tests/fuzz/fuzz_reply.c src/core/socks4.c
$(B)/fuzz/fuzz_request: tests/fuzz/fuzz_request.c src/core/socks4.c
$(B)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c src/core/config.c src/core/route.c src/core/addr.c src/core/socks4.c
$(B)/fuzz/fuzz_elfinfo: tests/fuzz/fuzz_elfinfo.c src/core/elfinfo.c
$(B)/fuzz/fuzz_names: tests/fuzz/fuzz_names.c src/core/names.c src/core/socks4.c
$(B)/fuzz/fuzz_idn: tests/fuzz/fuzz_idn.c src/core/idn.c
$(FUZZ_BINS):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -lpthread

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)sh tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_BINS)

check: all test-progs
	$(Q)SANITIZE='$(SANITIZE)' sh tests/run-tests $(UNIT_BINS)

# The unit tests alone: no network, no root, no tool beyond the compiler
# (debian/rules runs them at package build time).
check-unit: $(UNIT_BINS)
	$(Q)SANITIZE='$(SANITIZE)' TESTS='$(UNIT_BINS)' sh tests/run-tests

demo: all $(SERVER)
	$(Q)sh scripts/demo

bench: all test-progs
	$(Q)sh scripts/bench

# The system socks4rc is the user's once installed: install writes the
# example only where there is none, and uninstall removes it only while it
# is still byte for byte the example.
install: $(LIB) $(QUERY) $(INST_LAUNCH) $(SUP)
install: $(MAN_PAGES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SYSCONFDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/libsocks4wrap.so
	install -m 0755 $(QUERY) $(DESTDIR)$(LIBDIR)/socks4wrap-query
	install -m 0755 $(SUP) $(DESTDIR)$(LIBDIR)/socks4wrap-sup
	install -m 0755 $(INST_LAUNCH) $(DESTDIR)$(BINDIR)/socks4wrap
	install -m 0644 $(B)/man/socks4wrap.1 $(DESTDIR)$(MANDIR)/man1/socks4wrap.1
	install -m 0644 $(B)/man/socks4rc.5 $(DESTDIR)$(MANDIR)/man5/socks4rc.5
	test -e $(DESTDIR)$(SYSCONFDIR)/socks4rc || \
	    install -m 0644 socks4rc.example $(DESTDIR)$(SYSCONFDIR)/socks4rc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/socks4wrap $(DESTDIR)$(LIBDIR)/libsocks4wrap.so \
	    $(DESTDIR)$(LIBDIR)/socks4wrap-query $(DESTDIR)$(LIBDIR)/socks4wrap-sup \
	    $(DESTDIR)$(MANDIR)/man1/socks4wrap.1 $(DESTDIR)$(MANDIR)/man5/socks4rc.5
	-rmdir $(DESTDIR)$(LIBDIR)
	! cmp -s socks4rc.example $(DESTDIR)$(SYSCONFDIR)/socks4rc || \
	    rm -f $(DESTDIR)$(SYSCONFDIR)/socks4rc

clean:
	rm -rf $(B)

.PHONY: all test-progs check check-unit demo bench fuzz fuzz-build install uninstall clean version FORCE
.SECONDARY:

-include $(SHIM_OBJS:.o=.d) $(SERVER_OBJS:.o=.d) $(QUERY_OBJS:.o=.d) $(SUP_OBJS:.o=.d) \
         $(UNIT_NAMES:%=$(B)/tests/unit/%.d)
-include $(LAUNCH_OBJS:.o=.d) $(INST_OBJS:.o=.d)
