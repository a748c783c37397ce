# Builds the libFuzzer targets with clang: `make -f tests/fuzz/fuzz.mk` from the
# top of a configured tree, normally through tests/fuzz/run-fuzz.sh (`make fuzz`).
# A separate object tree (OUT, default build/fuzz) instrumented with libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer; the normal gcc build is not
# touched.  GNU make.
#
# Variables: SRCDIR (source tree), TOPBUILD (where config.h is), OUT,
# FUZZ_CC (clang), DEP_CFLAGS and DEP_LIBS (pkg-config flags of the libraries,
# passed by `make fuzz` from configure).

SRCDIR ?= .
TOPBUILD ?= .
OUT ?= build/fuzz
FUZZ_CC ?= clang
DEP_CFLAGS ?=
DEP_LIBS ?= -lldns -luv -llmdb -lcrypto -lssl -lcurl -ljansson -lpthread

TARGETS := fuzz_query fuzz_zonefile fuzz_tcp_framing fuzz_acme_json fuzz_tsig fuzz_control \
	fuzz_simple_rr

SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS_FUZZ := -g -O1 -fno-omit-frame-pointer -std=gnu11 $(SAN) \
	-Wall -Wextra -Wno-unused-parameter \
	-include $(TOPBUILD)/config.h -I$(SRCDIR)/src \
	-DFUZZ_SRCDIR='"$(abspath $(SRCDIR))/tests/fuzz"' $(DEP_CFLAGS)

# The library: everything both programs link, plus the pure server modules.
LIB_SRCS := $(sort $(wildcard $(addprefix $(SRCDIR)/src/,common/*.c dns/*.c db/*.c zonefile/*.c \
	certs/*.c acme/*.c))) \
	$(SRCDIR)/src/server/tcp_framing.c $(SRCDIR)/src/server/control_proto.c
LIB_OBJS := $(patsubst $(SRCDIR)/%.c,$(OUT)/obj/%.o,$(LIB_SRCS))

all: $(addprefix $(OUT)/,$(TARGETS))

$(OUT)/obj/src/%.o: $(SRCDIR)/src/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC   $<"
	@$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(OUT)/obj/tests/fuzz/%.o: $(SRCDIR)/tests/fuzz/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC   $<"
	@$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(OUT)/libcertdns-fuzz.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(OUT)/fuzz_%: $(OUT)/obj/tests/fuzz/fuzz_%.o $(OUT)/libcertdns-fuzz.a
	@echo "  FUZZLD   $@"
	@$(FUZZ_CC) $(SAN) -fsanitize=fuzzer -o $@ $< $(OUT)/libcertdns-fuzz.a $(DEP_LIBS)

-include $(LIB_OBJS:.o=.d) $(patsubst %,$(OUT)/obj/tests/fuzz/%.d,$(TARGETS))

.PHONY: all
.SECONDARY:
