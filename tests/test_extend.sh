#!/usr/bin/env bash
# shellcheck disable=SC2016  # backticks in grep patterns are markdown, not expansions
# Adding a codec is one file in codecs/ and one row in codec_table (issue 11,
# "Done when"; ARCHITECTURE.md, "Adding a codec"). On a copy of the tracked
# tree, this adds codecs/codec_testrle.c (a test-only codec: a gzip stream
# of stored deflate blocks, so that it is truly readable by today's metaflow,
# as its row says) and its row, builds the release binary
# there, and checks that the codec is in `casbench list`, in a quick run, in
# the report's codec tables with its facts (not "unknown") and among the
# recommendation's candidates for today's metaflow, with no other file of the
# copy changed.
. "$(dirname "$0")/lib.sh"
ROOT=$PWD
COPY=$TMPD/tree

# --- the copy: the tracked files as they are in this worktree ---------------
mkdir -p "$COPY"
(cd "$ROOT" && git ls-files -z | xargs -0 cp --parents -t "$COPY")
git -C "$COPY" init -q
git -C "$COPY" add -A
git -C "$COPY" -c user.name=test -c user.email=test@invalid commit -q -m base

# --- one new file ------------------------------------------------------------
cat >"$COPY/codecs/codec_testrle.c" <<'EOF'
/* codec_testrle.c - a test-only codec (tests/test_extend.sh): a gzip
 * stream (RFC 1952) of stored deflate blocks, so that a reader of gzip (zlib,
 * Python's gzip module, metaflow) reads it, as its row claims. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec_impl.h"

#define BLOCK_MAX 65535u

const char *codec_testrle_version(void) { return "1"; }

static void put_le(uint8_t *d, uint32_t v, int n)
{
    for (int i = 0; i < n; i++) d[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le(const uint8_t *s, int n)
{
    uint32_t v = 0;
    for (int i = n; i-- > 0;) v = v << 8 | s[i];
    return v;
}

size_t codec_testrle_bound(size_t src_size, int level)
{
    (void)level;
    return 10 + (src_size / BLOCK_MAX + 1) * 5 + src_size + 8;
}

void *codec_testrle_create(int level)
{
    (void)level;
    return malloc(1);
}

void codec_testrle_destroy(void *ctx) { free(ctx); }

size_t codec_testrle_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    static const uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
    const uint8_t *s = src;
    uint8_t *d = dst;
    size_t off = 0, o = 10;
    (void)ctx;
    if (n > 0xffffffffu) return CODEC_ERROR(CODEC_ERR_LIBRARY);
    if (cap < codec_testrle_bound(n, 0)) return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    memcpy(d, header, sizeof header);
    do {
        uint32_t k = n - off < BLOCK_MAX ? (uint32_t)(n - off) : BLOCK_MAX;
        d[o] = off + k == n;    /* BFINAL on the last block, BTYPE 00: stored */
        put_le(d + o + 1, k, 2);
        put_le(d + o + 3, ~k & 0xffffu, 2);
        if (k) memcpy(d + o + 5, s + off, k);
        o += 5 + k;
        off += k;
    } while (off < n);
    put_le(d + o, (uint32_t)crc32(0, s, (uInt)n), 4);
    put_le(d + o + 4, (uint32_t)n, 4);
    return o + 8;
}

size_t codec_testrle_content_size(const void *src, size_t n)
{
    const uint8_t *s = src;
    if (n < 18) return CODEC_SIZE_UNKNOWN;
    return get_le(s + n - 4, 4);
}

size_t codec_testrle_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    const uint8_t *s = src;
    uint8_t *d = dst;
    size_t i = 10, len = 0;
    int last = 0;
    (void)ctx;
    if (n < 18) return CODEC_ERROR(CODEC_ERR_TRUNCATED);
    if (s[0] != 0x1f || s[1] != 0x8b || s[2] != 8 || s[3] != 0) return CODEC_ERROR(CODEC_ERR_CORRUPT);
    while (!last) {
        uint32_t k;
        if (n - i < 5) return CODEC_ERROR(CODEC_ERR_TRUNCATED);
        if ((s[i] & ~1u) != 0) return CODEC_ERROR(CODEC_ERR_CORRUPT);
        last = s[i] & 1;
        k = get_le(s + i + 1, 2);
        if ((get_le(s + i + 3, 2) ^ k) != 0xffffu) return CODEC_ERROR(CODEC_ERR_CORRUPT);
        if (n - i - 5 < k) return CODEC_ERROR(CODEC_ERR_TRUNCATED);
        if (cap - len < k) return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
        if (k) memcpy(d + len, s + i + 5, k);
        len += k;
        i += 5 + k;
    }
    if (n - i < 8) return CODEC_ERROR(CODEC_ERR_TRUNCATED);
    if (n - i > 8) return CODEC_ERROR(CODEC_ERR_TRAILING);
    if (get_le(s + i, 4) != (uint32_t)crc32(0, d, (uInt)len) || get_le(s + i + 4, 4) != (uint32_t)len)
        return CODEC_ERROR(CODEC_ERR_CHECKSUM);
    return len;
}
EOF

# --- one row, last in codec_table ---------------------------------------------
"$PY" - "$COPY/codecs/codec.c" <<'EOF'
import sys
p = sys.argv[1]
t = open(p).read()
end = "\n};\n#undef D\n"
assert t.count(end) == 1, "codec_table's end not found"
row = ('\n    {.name = "testrle", .library = "libc", CODEC_FUNCS(testrle),'
       '\n     .level_min = 0, .level_max = 0, .level_default = 0,'
       '\n     .family = "store", .stream_format = "test: gzip of stored deflate blocks", .gzip_compatible = 1,'
       '\n     .stream_same_min_level = CODEC_STREAM_DIFFERS, .python_note = "test-only codec",'
       '\n     .in_sets = {{0, CB_SET_QUICK}}},')
open(p, "w").write(t.replace(end, row + end))
EOF

check_eq "only the new file and codec.c differ from the tracked tree" \
  "$(printf ' M codecs/codec.c\n?? codecs/codec_testrle.c')" "$(git -C "$COPY" status --porcelain)"
check_eq "codec.c: one hunk, the added row only (5 lines, none removed)" "5 0 1" \
  "$(git -C "$COPY" diff --numstat codecs/codec.c | cut -f1,2 | tr '\t' ' ') $(git -C "$COPY" diff codecs/codec.c | grep -c '^@@')"

# --- build the release binary in the copy --------------------------------------
check "make build/casbench in the copy" make -s -C "$COPY" -j2 BUILD=build build/casbench
CB=$COPY/build/casbench
check_eq "the build changed no tracked file" \
  "$(printf ' M codecs/codec.c\n?? codecs/codec_testrle.c')" "$(git -C "$COPY" status --porcelain)"

# --- casbench list --------------------------------------------------------------
check "casbench list names testrle" bash -c "'$CB' list | grep -qw testrle"

# --- a quick run ----------------------------------------------------------------
RUN=$TMPD/runs/quick
check "quick run with the new codec" "$CB" run --quick --payload config,metrics --rounds 2 \
  --min-time 0.002 --out "$RUN"
col() {  # col NAME: the column number of NAME in matrix.tsv's header
  head -1 "$RUN/matrix.tsv" | tr '\t' '\n' | grep -nx "$1" | cut -d: -f1
}
C_CODEC=$(col codec) C_STAGE=$(col stage) C_STATUS=$(col status)
check_eq "quick run: testrle compress and decompress rows, all ok" "4 4" \
  "$(awk -F'\t' -v c="$C_CODEC" -v s="$C_STAGE" -v st="$C_STATUS" \
      '$c == "testrle" && ($s == "compress" || $s == "decompress") { n++; ok += $st == "ok" } END { print n + 0, ok + 0 }' \
      "$RUN/matrix.tsv")"
check "env.tsv: testrle in the quick set" grep -qP '^set_quick_codecs\t.*\btestrle:0\b' "$RUN/env.tsv"
check "env.tsv: testrle's facts (readable by today's metaflow, not a ceiling)" bash -c \
  "grep -qP '^codec_metaflow_readable_testrle\tyes$' '$RUN/env.tsv' && grep -qP '^codec_ceiling_testrle\tno$' '$RUN/env.tsv'"

# --- the report -------------------------------------------------------------------
check "report on the quick run" bash -c "cd '$COPY' && CASBENCH_PLOTS_DIR='$COPY/plots' '$CB' report '$RUN'"
R=$RUN/REPORT.md
check_eq "codec tables: testrle on both payloads, with its facts" 2 \
  "$(grep -c '^| testrle:0 | yes (gzip stream, cas_version 1) | ' "$R")"
check_eq "no codec's facts are unknown" 0 "$(grep -c '^| [^|]* | unknown | ' "$R")"
check "recommendation: testrle ranked as readable by today's metaflow (a candidate)" \
  grep -qE '^\| [0-9]+ \| testrle:0 \| yes \(gzip stream, cas_version 1\) \| ' "$R"
