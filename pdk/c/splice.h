/*
 * splice.h — a header-only, freestanding C PDK for Splice connectors.
 *
 * A connector is an Extism plugin (see pdk/ABI.md, the authority on every
 * function used here). This header declares the Extism imports
 * ("extism:host/env") and Splice's fast path ("extism:host/user"), and wraps
 * them in a handful of helpers:
 *
 *   splice_reset()                       start of every export: empty the arena
 *   splice_alloc(n)                      bump-allocate n bytes of guest memory
 *   splice_input_length()                length of this call's input
 *   splice_input(buf, cap)               copy the input into buf
 *   splice_input_alloc(&len)             the whole input, in the arena
 *   splice_output(ptr, len)              set this call's output
 *   splice_error(msg) / splice_error_n   set this call's error (return it: 1)
 *   splice_config(key, buf, cap)         read a config value
 *   splice_log(level, msg, len) / splice_log_info(msg)
 *   splice_var_get / splice_var_set / splice_var_delete
 *   splice_json_field / splice_json_string / splice_json_get_string
 *   splice_buf_*                         growable output buffer in the arena
 *   splice_utf8_decode / _encode / _valid / _count
 *   splice_json_quote / splice_buf_json_string   write an escaped JSON string
 *   splice_json_check / splice_json_valid        strict JSON validation
 *   splice_json_compact                  drop whitespace between tokens
 *   splice_json_check_compact            both in one pass
 *   splice_json_unquote(_alloc)          decode a string as encoding/json does
 *   splice_json_key_equal / splice_json_member / splice_json_members /
 *   splice_json_iter_*
 *   splice_http(req, n, &res, &len)      outbound HTTP through the broker
 *   splice_http_header                   header lookup, any case
 *   splice_base64_encode / _decode
 *
 * Fast path: splice_input_read, splice_output_write and splice_error_write
 * copy whole buffers between Extism memory and guest memory in one host call.
 * A host without them (Extism's own SDKs) answers -1; the helpers then fall
 * back to the plain Extism ABI (8 bytes per host call) and remember that, so
 * one module runs on both engines.
 *
 * Freestanding: no libc. The header only needs clang's builtin <stdint.h>
 * and <stddef.h>. Clang may still emit calls to memcpy/memset/memmove/memcmp;
 * define SPLICE_IMPLEMENTATION in exactly one .c file before including this
 * header to get (non-static) definitions of them.
 *
 * Build (see README.md):
 *   clang --target=wasm32 -O2 -msimd128 -mbulk-memory -nostdlib -ffreestanding -Wl,--no-entry \
 *         -Wl,--strip-all -I pdk/c -o out.wasm connector.c
 */
#ifndef SPLICE_H
#define SPLICE_H

#include <stddef.h>
#include <stdint.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */

#define SPLICE_EXPORT(name) __attribute__((export_name(name)))
#define SPLICE_IMPORT(mod, name) \
	__attribute__((import_module(mod), import_name(name)))
#define SPLICE_ENV(name) SPLICE_IMPORT("extism:host/env", name)
#define SPLICE_USER(name) SPLICE_IMPORT("extism:host/user", name)

/* An offset into Extism memory (the host's address space); 0 is "none". */
typedef uint64_t extism_ptr;

/* ------------------------------------------------------------------------ */
/* Extism imports ("extism:host/env"), exactly as the official PDKs use them */

SPLICE_ENV("input_length") uint64_t extism_input_length(void);
SPLICE_ENV("input_load_u8") uint32_t extism_input_load_u8(uint64_t i);
SPLICE_ENV("input_load_u64") uint64_t extism_input_load_u64(uint64_t i);
SPLICE_ENV("alloc") extism_ptr extism_alloc(uint64_t n);
SPLICE_ENV("free") void extism_free(extism_ptr p);
SPLICE_ENV("length") uint64_t extism_length(extism_ptr p);
SPLICE_ENV("load_u8") uint32_t extism_load_u8(extism_ptr p);
SPLICE_ENV("load_u64") uint64_t extism_load_u64(extism_ptr p);
SPLICE_ENV("store_u8") void extism_store_u8(extism_ptr p, uint32_t v);
SPLICE_ENV("store_u64") void extism_store_u64(extism_ptr p, uint64_t v);
SPLICE_ENV("output_set") void extism_output_set(extism_ptr p, uint64_t n);
SPLICE_ENV("error_set") void extism_error_set(extism_ptr p);
SPLICE_ENV("config_get") extism_ptr extism_config_get(extism_ptr key);
SPLICE_ENV("var_get") extism_ptr extism_var_get(extism_ptr key);
SPLICE_ENV("var_set") void extism_var_set(extism_ptr key, extism_ptr val);
SPLICE_ENV("log_trace") void extism_log_trace(extism_ptr msg);
SPLICE_ENV("log_debug") void extism_log_debug(extism_ptr msg);
SPLICE_ENV("log_info") void extism_log_info(extism_ptr msg);
SPLICE_ENV("log_warn") void extism_log_warn(extism_ptr msg);
SPLICE_ENV("log_error") void extism_log_error(extism_ptr msg);
SPLICE_ENV("get_log_level") int32_t extism_get_log_level(void);

/* ------------------------------------------------------------------------ */
/* Splice fast path ("extism:host/user"); each returns -1 when unsupported.  */

SPLICE_USER("splice_input_read") int32_t splice_input_read(void *p, int32_t n);
SPLICE_USER("splice_output_write") int32_t splice_output_write(const void *p, int32_t n);
SPLICE_USER("splice_error_write") int32_t splice_error_write(const void *p, int32_t n);

/* Outbound HTTP through the host's broker: the argument is a block holding the
 * request document, the result a new block holding the response document, or
 * 0 when the host has no broker for this call. splice_http() wraps it. */
SPLICE_USER("splice_http") extism_ptr splice_http_raw(extism_ptr req);

/* ------------------------------------------------------------------------ */
/* Small freestanding utilities                                              */

static inline uint32_t splice_strlen(const char *s)
{
	const char *p = s;
	while (*p)
		p++;
	return (uint32_t)(p - s);
}

/* Byte copy that the optimizer may turn into memcpy (which we provide). */
static inline void splice_copy(void *dst, const void *src, uint32_t n)
{
	__builtin_memcpy(dst, src, n);
}

/* ------------------------------------------------------------------------ */
/* Arena: a bump allocator over linear memory past __heap_base.              */
/*
 * Everything the helpers allocate lives here. Memory grows on demand with
 * memory.grow, so inputs of any size fit (up to the host's memory limit).
 * Nothing is freed individually: call splice_reset() at the start of every
 * export so a pooled instance reuses the same pages call after call.
 */

extern unsigned char __heap_base; /* provided by wasm-ld */

static uintptr_t splice__top; /* next free byte; 0 until first use */

static inline void splice_reset(void)
{
	splice__top = ((uintptr_t)&__heap_base + 7u) & ~(uintptr_t)7u;
}

/* splice_alloc returns n bytes aligned to 8, or NULL when memory can't grow. */
static inline void *splice_alloc(uint32_t n)
{
	if (splice__top == 0)
		splice_reset();
	uintptr_t p = splice__top;
	uintptr_t end = p + (((uintptr_t)n + 7u) & ~(uintptr_t)7u);
	if (end < p)
		return NULL;
	uintptr_t have = (uintptr_t)__builtin_wasm_memory_size(0) << 16;
	if (end > have) {
		uintptr_t pages = (end - have + 0xffffu) >> 16;
		if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
			return NULL;
	}
	splice__top = end;
	return (void *)p;
}

/* ------------------------------------------------------------------------ */
/* Moving bytes between guest memory and Extism memory                       */

/* 1 until the host answers -1 to a fast-path call; then 0 for good. */
static int splice__fast = 1;

/* Copy guest bytes into a fresh Extism block; returns its offset (0 if n==0). */
static inline extism_ptr splice__to_block(const void *src, uint32_t n)
{
	const uint8_t *s = (const uint8_t *)src;
	extism_ptr off = extism_alloc(n);
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		__builtin_memcpy(&v, s + i, 8);
		extism_store_u64(off + i, v);
	}
	for (; i < n; i++)
		extism_store_u8(off + i, s[i]);
	return off;
}

/* Copy n bytes of the Extism block at off into guest memory. */
static inline void splice__from_block(extism_ptr off, void *dst, uint32_t n)
{
	uint8_t *d = (uint8_t *)dst;
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v = extism_load_u64(off + i);
		__builtin_memcpy(d + i, &v, 8);
	}
	for (; i < n; i++)
		d[i] = (uint8_t)extism_load_u8(off + i);
}

/* ------------------------------------------------------------------------ */
/* Input, output, error                                                      */

static inline uint32_t splice_input_length(void)
{
	return (uint32_t)extism_input_length();
}

/* splice_input copies the first min(cap, input length) input bytes into buf
 * and returns how many it copied. */
static inline uint32_t splice_input(void *buf, uint32_t cap)
{
	uint32_t n = splice_input_length();
	if (n > cap)
		n = cap;
	if (splice__fast) {
		int32_t r = splice_input_read(buf, (int32_t)n);
		if (r >= 0)
			return (uint32_t)r;
		splice__fast = 0;
	}
	uint8_t *d = (uint8_t *)buf;
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v = extism_input_load_u64(i);
		__builtin_memcpy(d + i, &v, 8);
	}
	for (; i < n; i++)
		d[i] = (uint8_t)extism_input_load_u8(i);
	return n;
}

/* splice_input_alloc returns the whole input in the arena (NUL-terminated for
 * convenience; *len excludes the NUL), or NULL when out of memory. */
static inline uint8_t *splice_input_alloc(uint32_t *len)
{
	uint32_t n = splice_input_length();
	uint8_t *buf = (uint8_t *)splice_alloc(n + 1);
	if (buf == NULL)
		return NULL;
	n = splice_input(buf, n);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* splice_output makes guest memory [p, p+n) this call's output. */
static inline void splice_output(const void *p, uint32_t n)
{
	if (splice__fast) {
		if (splice_output_write(p, (int32_t)n) >= 0)
			return;
		splice__fast = 0;
	}
	extism_output_set(splice__to_block(p, n), n);
}

static inline void splice_output_str(const char *s)
{
	splice_output(s, splice_strlen(s));
}

/* splice_error_n sets this call's error message and returns 1, so an export
 * can end with `return splice_error_n(msg, n);`. */
static inline int32_t splice_error_n(const void *msg, uint32_t n)
{
	if (splice__fast) {
		if (splice_error_write(msg, (int32_t)n) >= 0)
			return 1;
		splice__fast = 0;
	}
	/* The host keeps the block; like the official PDKs, don't free it. */
	extism_error_set(splice__to_block(msg, n));
	return 1;
}

static inline int32_t splice_error(const char *msg)
{
	return splice_error_n(msg, splice_strlen(msg));
}

/* ------------------------------------------------------------------------ */
/* Config, logging, vars                                                     */

/* splice_config copies up to cap bytes of config value `key` into buf and
 * returns the value's full length (which may exceed cap, as snprintf does),
 * or -1 when the key is unset. */
static inline int32_t splice_config(const char *key, void *buf, uint32_t cap)
{
	extism_ptr k = splice__to_block(key, splice_strlen(key));
	extism_ptr v = extism_config_get(k);
	extism_free(k); /* config_get leaves the key to us */
	if (v == 0)
		return -1;
	uint32_t n = (uint32_t)extism_length(v);
	splice__from_block(v, buf, n < cap ? n : cap);
	extism_free(v);
	return (int32_t)n;
}

enum {
	SPLICE_LOG_TRACE = 0,
	SPLICE_LOG_DEBUG = 1,
	SPLICE_LOG_INFO = 2,
	SPLICE_LOG_WARN = 3,
	SPLICE_LOG_ERROR = 4,
};

/* splice_log logs a message at a level (SPLICE_LOG_*). Like the official
 * PDKs it skips messages below the host's get_log_level. The log_* host
 * functions take ownership of the block. */
static inline void splice_log(int level, const void *msg, uint32_t n)
{
	if (level < extism_get_log_level())
		return;
	extism_ptr m = splice__to_block(msg, n);
	switch (level) {
	case SPLICE_LOG_TRACE: extism_log_trace(m); break;
	case SPLICE_LOG_DEBUG: extism_log_debug(m); break;
	case SPLICE_LOG_INFO: extism_log_info(m); break;
	case SPLICE_LOG_WARN: extism_log_warn(m); break;
	default: extism_log_error(m); break;
	}
}

static inline void splice_log_info(const char *msg)
{
	splice_log(SPLICE_LOG_INFO, msg, splice_strlen(msg));
}

/* splice_var_get copies up to cap bytes of var `key` into buf and returns the
 * value's full length, or -1 when unset. Vars live as long as the instance. */
static inline int32_t splice_var_get(const char *key, void *buf, uint32_t cap)
{
	/* var_get takes ownership of the key block. */
	extism_ptr v = extism_var_get(splice__to_block(key, splice_strlen(key)));
	if (v == 0)
		return -1;
	uint32_t n = (uint32_t)extism_length(v);
	splice__from_block(v, buf, n < cap ? n : cap);
	extism_free(v);
	return (int32_t)n;
}

/* splice_var_set stores var `key`; an empty value deletes it. var_set takes
 * ownership of both blocks. */
static inline void splice_var_set(const char *key, const void *val, uint32_t n)
{
	extism_ptr k = splice__to_block(key, splice_strlen(key));
	extism_var_set(k, n ? splice__to_block(val, n) : 0);
}

static inline void splice_var_delete(const char *key)
{
	splice_var_set(key, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* Minimal JSON scanning                                                     */
/*
 * Not a validator: it assumes well-formed JSON (the host validates inputs)
 * and never reads past `len`. Keys are compared byte for byte as written, so
 * a key spelled with escapes ("k\u0065y") does not match "key".
 */

static inline int splice__json_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* splice__json_plain returns the index of the first byte of s[i..len) that
 * is '"' or '\\' or, when strict, also a control character or a byte from
 * 0x80 up; len when there is none. Built with -msimd128 it tests 16 bytes at
 * a time (the loads stay within s[0..len)). */
static inline uint32_t splice__json_plain(const uint8_t *s, uint32_t len, uint32_t i, int strict)
{
#ifdef __wasm_simd128__
	for (; len - i >= 16; i += 16) {
		v128_t v = wasm_v128_load(s + i);
		v128_t m = wasm_v128_or(wasm_i8x16_eq(v, wasm_i8x16_splat('"')), wasm_i8x16_eq(v, wasm_i8x16_splat('\\')));
		if (strict)
			m = wasm_v128_or(m, wasm_v128_or(wasm_u8x16_lt(v, wasm_i8x16_splat(0x20)),
							  wasm_i8x16_lt(v, wasm_i8x16_splat(0))));
		uint32_t bits = (uint32_t)wasm_i8x16_bitmask(m);
		if (bits)
			return i + (uint32_t)__builtin_ctz(bits);
	}
#endif
	for (; i < len; i++) {
		uint8_t c = s[i];
		if (c == '"' || c == '\\' || (strict && (c < 0x20 || c >= 0x80)))
			return i;
	}
	return len;
}

/* Index just past the string token starting at s[i] == '"'. */
static inline uint32_t splice__json_skip_string(const uint8_t *s, uint32_t len, uint32_t i)
{
	for (i++;;) {
		i = splice__json_plain(s, len, i, 0);
		if (i >= len)
			return len;
		if (s[i] == '"')
			return i + 1;
		i += 2; /* a backslash and the byte it escapes */
		if (i > len)
			return len;
	}
}

/* Index just past the value starting at s[i] (object, array, string, scalar). */
static inline uint32_t splice__json_skip_value(const uint8_t *s, uint32_t len, uint32_t i)
{
	if (i >= len)
		return len;
	if (s[i] == '"')
		return splice__json_skip_string(s, len, i);
	if (s[i] == '{' || s[i] == '[') {
		uint32_t depth = 0;
		while (i < len) {
			uint8_t c = s[i];
			if (c == '"') {
				i = splice__json_skip_string(s, len, i);
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return i + 1;
			i++;
		}
		return len;
	}
	while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && !splice__json_ws(s[i]))
		i++;
	return i;
}

/* splice_json_field finds member `key` of the top-level object in doc and
 * sets *val and *vlen to its raw value token (any JSON type). Returns 1 when
 * found, 0 otherwise (not an object, or no such key). */
static inline int splice_json_field(const uint8_t *doc, uint32_t len, const char *key,
				    const uint8_t **val, uint32_t *vlen)
{
	uint32_t klen = splice_strlen(key), i = 0;
	while (i < len && splice__json_ws(doc[i]))
		i++;
	if (i >= len || doc[i] != '{')
		return 0;
	i++;
	for (;;) {
		while (i < len && (splice__json_ws(doc[i]) || doc[i] == ','))
			i++;
		if (i >= len || doc[i] != '"')
			return 0; /* '}' or garbage */
		uint32_t ks = i + 1, ke = splice__json_skip_string(doc, len, i);
		i = ke;
		while (i < len && splice__json_ws(doc[i]))
			i++;
		if (i >= len || doc[i] != ':')
			return 0;
		i++;
		while (i < len && splice__json_ws(doc[i]))
			i++;
		uint32_t vs = i, ve = splice__json_skip_value(doc, len, i);
		if (ke - ks - 1 == klen && __builtin_memcmp(doc + ks, key, klen) == 0) {
			*val = doc + vs;
			*vlen = ve - vs;
			return 1;
		}
		i = ve;
	}
}

static inline int splice__hex(uint8_t c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* splice_json_string decodes the JSON string token tok[0..n) into out (UTF-8,
 * at most cap bytes written, no NUL added) and returns the decoded length,
 * which may exceed cap (as snprintf does). Returns -1 when the token is not a
 * string or holds an escape it won't decode: \u escapes are decoded only in
 * the Basic Multilingual Plane outside surrogates (conservative). */
static inline int32_t splice_json_string(const uint8_t *tok, uint32_t n, char *out, uint32_t cap)
{
	if (n < 2 || tok[0] != '"' || tok[n - 1] != '"')
		return -1;
	uint32_t o = 0;
#define SPLICE__PUT(c) do { if (o < cap) out[o] = (char)(c); o++; } while (0)
	for (uint32_t i = 1; i < n - 1; i++) {
		uint8_t c = tok[i];
		if (c != '\\') {
			SPLICE__PUT(c);
			continue;
		}
		if (++i >= n - 1)
			return -1;
		switch (tok[i]) {
		case '"': SPLICE__PUT('"'); break;
		case '\\': SPLICE__PUT('\\'); break;
		case '/': SPLICE__PUT('/'); break;
		case 'b': SPLICE__PUT('\b'); break;
		case 'f': SPLICE__PUT('\f'); break;
		case 'n': SPLICE__PUT('\n'); break;
		case 'r': SPLICE__PUT('\r'); break;
		case 't': SPLICE__PUT('\t'); break;
		case 'u': {
			if (i + 4 >= n - 1)
				return -1;
			int32_t u = 0;
			for (int k = 1; k <= 4; k++) {
				int h = splice__hex(tok[i + k]);
				if (h < 0)
					return -1;
				u = u << 4 | h;
			}
			i += 4;
			if (u >= 0xD800 && u <= 0xDFFF)
				return -1; /* surrogates: refuse rather than guess */
			if (u < 0x80) {
				SPLICE__PUT(u);
			} else if (u < 0x800) {
				SPLICE__PUT(0xC0 | u >> 6);
				SPLICE__PUT(0x80 | (u & 0x3F));
			} else {
				SPLICE__PUT(0xE0 | u >> 12);
				SPLICE__PUT(0x80 | (u >> 6 & 0x3F));
				SPLICE__PUT(0x80 | (u & 0x3F));
			}
			break;
		}
		default:
			return -1;
		}
	}
#undef SPLICE__PUT
	return (int32_t)o;
}

/* splice_json_get_string decodes the top-level string member `key` of doc
 * into out; returns its decoded length (may exceed cap) or -1 when the key is
 * missing or its value is not a (decodable) string. */
static inline int32_t splice_json_get_string(const uint8_t *doc, uint32_t len, const char *key,
					     char *out, uint32_t cap)
{
	const uint8_t *v;
	uint32_t vn;
	if (!splice_json_field(doc, len, key, &v, &vn))
		return -1;
	return splice_json_string(v, vn, out, cap);
}

/* ------------------------------------------------------------------------ */
/* Growable byte buffer (in the arena)                                       */
/*
 * A splice_buf collects output of unknown length: JSON documents, messages.
 * It grows in the arena (in place when it is the arena's last allocation,
 * else by moving), so it lives until the next splice_reset(). Writes after a
 * failed growth are dropped and set `oom`: check it once, at the end.
 */

typedef struct {
	uint8_t *p;   /* the bytes written so far */
	uint32_t n;   /* how many */
	uint32_t cap; /* room before the next growth (a multiple of 8) */
	int oom;      /* 1 when memory could not grow; later writes are dropped */
} splice_buf;

/* splice_buf_init starts an empty buffer with room for cap bytes. */
static inline void splice_buf_init(splice_buf *b, uint32_t cap)
{
	cap = (cap + 7u) & ~7u;
	if (cap == 0)
		cap = 64;
	b->n = 0;
	b->oom = 0;
	b->p = (uint8_t *)splice_alloc(cap);
	b->cap = b->p ? cap : 0;
	if (b->p == NULL)
		b->oom = 1;
}

/* splice_buf_reserve makes room for `more` bytes past b->n; 0 when it can't. */
static inline int splice_buf_reserve(splice_buf *b, uint32_t more)
{
	if (b->oom)
		return 0;
	if (more <= b->cap - b->n)
		return 1;
	uint64_t need = (uint64_t)b->n + more;
	uint64_t want = (uint64_t)b->cap * 2;
	if (want < need)
		want = need;
	want = (want + 7u) & ~(uint64_t)7u;
	if (want > 0xFFFFFFF8u) {
		b->oom = 1;
		return 0;
	}
	if ((uintptr_t)(b->p + b->cap) == splice__top) {
		/* The buffer ends the arena: grow it in place. */
		if (splice_alloc((uint32_t)want - b->cap) != NULL) {
			b->cap = (uint32_t)want;
			return 1;
		}
		b->oom = 1;
		return 0;
	}
	uint8_t *p = (uint8_t *)splice_alloc((uint32_t)want);
	if (p == NULL) {
		b->oom = 1;
		return 0;
	}
	splice_copy(p, b->p, b->n);
	b->p = p;
	b->cap = (uint32_t)want;
	return 1;
}

static inline void splice_buf_write(splice_buf *b, const void *p, uint32_t n)
{
	if (splice_buf_reserve(b, n)) {
		splice_copy(b->p + b->n, p, n);
		b->n += n;
	}
}

static inline void splice_buf_str(splice_buf *b, const char *s)
{
	splice_buf_write(b, s, splice_strlen(s));
}

static inline void splice_buf_byte(splice_buf *b, uint8_t c)
{
	if (splice_buf_reserve(b, 1))
		b->p[b->n++] = c;
}

/* splice_buf_int writes v in decimal. */
static inline void splice_buf_int(splice_buf *b, int64_t v)
{
	char tmp[20];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	int i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		splice_buf_byte(b, '-');
	splice_buf_write(b, tmp + i, (uint32_t)(sizeof tmp - i));
}

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                     */

/* splice_utf8_decode decodes the character at s[0..n) (n > 0) into *r and
 * returns its size in bytes. Like Go's utf8.DecodeRune, an invalid or
 * truncated sequence (overlong forms, surrogates, above U+10FFFF included)
 * decodes as U+FFFD with size 1, so a decoder skips one bad byte at a time. */
static inline uint32_t splice_utf8_decode(const uint8_t *s, uint32_t n, uint32_t *r)
{
	uint8_t c = s[0];
	if (c < 0x80) {
		*r = c;
		return 1;
	}
	uint32_t need, cp;
	uint8_t lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		cp = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		cp = c & 0x0Fu;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		cp = c & 0x07u;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		goto bad;
	}
	if (n <= need || s[1] < lo || s[1] > hi)
		goto bad;
	cp = cp << 6 | (s[1] & 0x3Fu);
	for (uint32_t k = 2; k <= need; k++) {
		if ((s[k] & 0xC0) != 0x80)
			goto bad;
		cp = cp << 6 | (s[k] & 0x3Fu);
	}
	*r = cp;
	return need + 1;
bad:
	*r = 0xFFFD;
	return 1;
}

/* splice_utf8_encode writes character r (at most U+10FFFF, not a surrogate)
 * as UTF-8 into out (room for 4 bytes) and returns the byte count. */
static inline uint32_t splice_utf8_encode(uint8_t *out, uint32_t r)
{
	if (r < 0x80) {
		out[0] = (uint8_t)r;
		return 1;
	}
	if (r < 0x800) {
		out[0] = (uint8_t)(0xC0 | r >> 6);
		out[1] = (uint8_t)(0x80 | (r & 0x3F));
		return 2;
	}
	if (r < 0x10000) {
		out[0] = (uint8_t)(0xE0 | r >> 12);
		out[1] = (uint8_t)(0x80 | (r >> 6 & 0x3F));
		out[2] = (uint8_t)(0x80 | (r & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | r >> 18);
	out[1] = (uint8_t)(0x80 | (r >> 12 & 0x3F));
	out[2] = (uint8_t)(0x80 | (r >> 6 & 0x3F));
	out[3] = (uint8_t)(0x80 | (r & 0x3F));
	return 4;
}

/* splice_utf8_valid reports whether s[0..n) is well-formed UTF-8. */
static inline int splice_utf8_valid(const uint8_t *s, uint32_t n)
{
	uint32_t i = 0, r;
	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		uint32_t k = splice_utf8_decode(s + i, n - i, &r);
		if (k == 1)
			return 0; /* a non-ASCII byte alone is never valid */
		i += k;
	}
	return 1;
}

/* splice_utf8_count returns the number of characters in s[0..n), each byte
 * of an invalid sequence counting as one (Go's utf8.RuneCount). */
static inline uint32_t splice_utf8_count(const uint8_t *s, uint32_t n)
{
	uint32_t i = 0, count = 0, r;
	while (i < n) {
		i += s[i] < 0x80 ? 1 : splice_utf8_decode(s + i, n - i, &r);
		count++;
	}
	return count;
}

/* ------------------------------------------------------------------------ */
/* Writing JSON strings                                                      */

/* Flags of splice_json_quote. */
enum {
	/* Escape <, > and & as \u003c, \u003e, \u0026 (safe to embed in HTML). */
	SPLICE_JSON_ESCAPE_HTML = 1,
	/* Escape { as \u007b. For the strings of a JSON document that is itself
	 * a splice_http request body: the host scans the body for
	 * {{credential.x}} placeholders, and user text written this way never
	 * holds one (the API decodes \u007b back to {). It protects nothing in
	 * the request document's own strings, which the host decodes first. */
	SPLICE_JSON_ESCAPE_BRACE = 2,
};

/* The most bytes splice_json_quote writes for n input bytes. */
#define SPLICE_JSON_QUOTED_MAX(n) (6u * (uint64_t)(n) + 2u)

/* splice_json_quote writes s[0..n) as a quoted JSON string into out, which
 * must have room for SPLICE_JSON_QUOTED_MAX(n) bytes, and returns the number
 * of bytes written. The output is always valid JSON, escaped as Go's
 * encoding/json does with SetEscapeHTML(false): " and \ and the control
 * characters (\b \f \n \r \t, else \u00XX), U+2028 and U+2029 as \u2028 and
 * \u2029, and each byte of invalid UTF-8 as \ufffd (U+FFFD); everything else,
 * DEL and non-ASCII text included, as is. `flags` adds SPLICE_JSON_ESCAPE_*. */
static inline uint32_t splice_json_quote(uint8_t *out, const void *src, uint32_t n, int flags)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)src;
	uint32_t o = 0, i = 0;
	out[o++] = '"';
	while (i < n) {
		if (!flags) {
			/* A run of ASCII that needs no escape, copied as is. */
			uint32_t p = splice__json_plain(s, n, i, 1);
			if (p > i) {
				__builtin_memcpy(out + o, s + i, p - i);
				o += p - i;
				i = p;
				if (i >= n)
					break;
			}
		}
		uint8_t c = s[i];
		if (c < 0x80) {
			int esc = c < 0x20 || c == '"' || c == '\\' ||
				  ((flags & SPLICE_JSON_ESCAPE_HTML) && (c == '<' || c == '>' || c == '&')) ||
				  ((flags & SPLICE_JSON_ESCAPE_BRACE) && c == '{');
			i++;
			if (!esc) {
				out[o++] = c;
				continue;
			}
			out[o++] = '\\';
			switch (c) {
			case '"': out[o++] = '"'; break;
			case '\\': out[o++] = '\\'; break;
			case '\b': out[o++] = 'b'; break;
			case '\f': out[o++] = 'f'; break;
			case '\n': out[o++] = 'n'; break;
			case '\r': out[o++] = 'r'; break;
			case '\t': out[o++] = 't'; break;
			default:
				out[o++] = 'u';
				out[o++] = '0';
				out[o++] = '0';
				out[o++] = (uint8_t)hex[c >> 4];
				out[o++] = (uint8_t)hex[c & 15];
			}
			continue;
		}
		uint32_t r, k = splice_utf8_decode(s + i, n - i, &r);
		if (k == 1 || r == 0x2028 || r == 0x2029) {
			/* k == 1 for a non-ASCII byte: invalid UTF-8. */
			const char *e = k == 1 ? "\\ufffd" : r == 0x2028 ? "\\u2028" : "\\u2029";
			splice_copy(out + o, e, 6);
			o += 6;
		} else {
			splice_copy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	out[o++] = '"';
	return o;
}

/* splice_json_quoted_len returns exactly how many bytes splice_json_quote
 * writes for s[0..n) and flags. */
static inline uint64_t splice_json_quoted_len(const void *src, uint32_t n, int flags)
{
	const uint8_t *s = (const uint8_t *)src;
	uint64_t len = 2;
	uint32_t i = 0;
	while (i < n) {
		if (!flags) {
			uint32_t p = splice__json_plain(s, n, i, 1);
			len += p - i;
			i = p;
			if (i >= n)
				break;
		}
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
				len += 2;
			else if (c < 0x20 || ((flags & SPLICE_JSON_ESCAPE_HTML) && (c == '<' || c == '>' || c == '&')) ||
				 ((flags & SPLICE_JSON_ESCAPE_BRACE) && c == '{'))
				len += 6;
			else
				len++;
			continue;
		}
		uint32_t r, k = splice_utf8_decode(s + i, n - i, &r);
		len += (k == 1 || r == 0x2028 || r == 0x2029) ? 6 : k;
		i += k;
	}
	return len;
}

/* splice_buf_json_string writes s[0..n) to b as a quoted JSON string
 * (splice_json_quote). It reserves the worst case (6 bytes a byte) when that
 * fits the buffer's room, else measures the string first. */
static inline void splice_buf_json_string(splice_buf *b, const void *s, uint32_t n, int flags)
{
	uint64_t need = SPLICE_JSON_QUOTED_MAX(n);
	if (b->oom)
		return;
	if (need > b->cap - b->n)
		need = splice_json_quoted_len(s, n, flags);
	if (need > 0xFFFFFFF0u) {
		b->oom = 1;
		return;
	}
	if (splice_buf_reserve(b, (uint32_t)need))
		b->n += splice_json_quote(b->p + b->n, s, n, flags);
}

/* ------------------------------------------------------------------------ */
/* Strict JSON                                                               */

/* Nesting deeper than this is refused, as Go's encoding/json does. */
#define SPLICE_JSON_MAX_DEPTH 10000

/* Flags of splice_json_check. */
enum {
	/* Accept any byte from 0x80 up in strings, as Go's json.Valid does;
	 * without it strings must be well-formed UTF-8 (RFC 8259, section 8.1). */
	SPLICE_JSON_LAX_UTF8 = 1,
};

/* Index just past the string token at s[i] == '"', checked strictly, or 0
 * when it is not a valid string. */
static inline uint32_t splice__json_scan_string(const uint8_t *s, uint32_t n, uint32_t i, int flags)
{
	for (i++; i < n;) {
		i = splice__json_plain(s, n, i, 1);
		if (i >= n)
			break;
		uint8_t c = s[i];
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			if (i + 1 >= n)
				return 0;
			switch (s[i + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				i += 2;
				continue;
			case 'u':
				if (i + 5 >= n || splice__hex(s[i + 2]) < 0 || splice__hex(s[i + 3]) < 0 ||
				    splice__hex(s[i + 4]) < 0 || splice__hex(s[i + 5]) < 0)
					return 0;
				i += 6;
				continue;
			}
			return 0;
		}
		if (c < 0x20)
			return 0;
		if (c < 0x80 || (flags & SPLICE_JSON_LAX_UTF8)) {
			i++;
			continue;
		}
		uint32_t r, k = splice_utf8_decode(s + i, n - i, &r);
		if (k == 1)
			return 0;
		i += k;
	}
	return 0;
}

/* Index just past the number at s[i], or 0 when it is not a valid number. */
static inline uint32_t splice__json_scan_number(const uint8_t *s, uint32_t n, uint32_t i)
{
#define SPLICE__DIGIT(k) ((k) < n && s[k] >= '0' && s[k] <= '9')
	if (i < n && s[i] == '-')
		i++;
	if (!SPLICE__DIGIT(i))
		return 0;
	if (s[i] == '0')
		i++;
	else
		while (SPLICE__DIGIT(i))
			i++;
	if (i < n && s[i] == '.') {
		i++;
		if (!SPLICE__DIGIT(i))
			return 0;
		while (SPLICE__DIGIT(i))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!SPLICE__DIGIT(i))
			return 0;
		while (SPLICE__DIGIT(i))
			i++;
	}
	return i;
#undef SPLICE__DIGIT
}

/* splice__json_check_to checks s[0..n) and, when out is not NULL, copies it
 * there without whitespace: the text between two runs of whitespace (mark to
 * i) is moved when a run begins, so a compact document is moved once, at the
 * end. Returns the length written (0 when out is NULL), or -1 when invalid. */
static inline int64_t splice__json_check_to(uint8_t *out, const uint8_t *s, uint32_t n, int flags)
{
	static uint8_t stack[(SPLICE_JSON_MAX_DEPTH + 7) / 8]; /* bit set: object */
	uint32_t depth = 0, i = 0, mark = 0, o = 0;
#define SPLICE__WS() do { \
		if (i < n && splice__json_ws(s[i])) { \
			if (out) { \
				__builtin_memmove(out + o, s + mark, i - mark); \
				o += i - mark; \
			} \
			while (i < n && splice__json_ws(s[i])) i++; \
			mark = i; \
		} \
	} while (0)
#define SPLICE__PUSH(obj) do { \
		if (depth >= SPLICE_JSON_MAX_DEPTH) return -1; \
		if (obj) stack[depth >> 3] |= (uint8_t)(1u << (depth & 7)); \
		else stack[depth >> 3] &= (uint8_t)~(1u << (depth & 7)); \
		depth++; \
	} while (0)
#define SPLICE__TOP_IS_OBJECT() (stack[(depth - 1) >> 3] >> ((depth - 1) & 7) & 1)
	for (;;) {
		/* A value is expected. */
		SPLICE__WS();
		if (i >= n)
			return -1;
		switch (s[i]) {
		case '{':
			SPLICE__PUSH(1);
			i++;
			SPLICE__WS();
			if (i < n && s[i] == '}') {
				i++;
				depth--;
				break;
			}
			if (i >= n || s[i] != '"' || (i = splice__json_scan_string(s, n, i, flags)) == 0)
				return -1;
			SPLICE__WS();
			if (i >= n || s[i] != ':')
				return -1;
			i++;
			continue; /* the member's value */
		case '[':
			SPLICE__PUSH(0);
			i++;
			SPLICE__WS();
			if (i < n && s[i] == ']') {
				i++;
				depth--;
				break;
			}
			continue; /* the first element */
		case '"':
			if ((i = splice__json_scan_string(s, n, i, flags)) == 0)
				return -1;
			break;
		case 't':
			if (n - i < 4 || __builtin_memcmp(s + i, "true", 4) != 0)
				return -1;
			i += 4;
			break;
		case 'f':
			if (n - i < 5 || __builtin_memcmp(s + i, "false", 5) != 0)
				return -1;
			i += 5;
			break;
		case 'n':
			if (n - i < 4 || __builtin_memcmp(s + i, "null", 4) != 0)
				return -1;
			i += 4;
			break;
		default:
			if ((i = splice__json_scan_number(s, n, i)) == 0)
				return -1;
		}
		/* A value ended: close containers until one goes on, or the end. */
		for (;;) {
			SPLICE__WS();
			if (depth == 0) {
				if (i != n)
					return -1;
				if (out) {
					__builtin_memmove(out + o, s + mark, i - mark);
					o += i - mark;
				}
				return o;
			}
			if (i >= n)
				return -1;
			if (SPLICE__TOP_IS_OBJECT()) {
				if (s[i] == '}') {
					i++;
					depth--;
					continue;
				}
				if (s[i] != ',')
					return -1;
				i++;
				SPLICE__WS();
				if (i >= n || s[i] != '"' || (i = splice__json_scan_string(s, n, i, flags)) == 0)
					return -1;
				SPLICE__WS();
				if (i >= n || s[i] != ':')
					return -1;
				i++;
				break;
			}
			if (s[i] == ']') {
				i++;
				depth--;
				continue;
			}
			if (s[i] != ',')
				return -1;
			i++;
			break;
		}
	}
#undef SPLICE__WS
#undef SPLICE__PUSH
#undef SPLICE__TOP_IS_OBJECT
}

/* splice_json_check reports whether s[0..n) is exactly one JSON value (RFC
 * 8259), with optional whitespace around it and nothing else: no trailing
 * data, no leading zeros ("01"), no "+1", ".5", "1.", NaN, comments, single
 * quotes or trailing commas, no control characters in strings, only the
 * standard escapes, at most SPLICE_JSON_MAX_DEPTH levels of nesting, and
 * (unless flags has SPLICE_JSON_LAX_UTF8) well-formed UTF-8 in strings. It
 * never reads past n and needs no memory: the nesting is kept in a bit
 * stack of SPLICE_JSON_MAX_DEPTH bits. */
static inline int splice_json_check(const uint8_t *s, uint32_t n, int flags)
{
	return splice__json_check_to(NULL, s, n, flags) >= 0;
}

/* splice_json_check_compact is splice_json_check and splice_json_compact in
 * one pass: when s[0..n) is valid (as splice_json_check with flags says), it
 * writes it without the whitespace between tokens to out (room for n bytes;
 * out may be s) and returns the length written; else it returns -1, with out
 * holding garbage. */
static inline int64_t splice_json_check_compact(uint8_t *out, const uint8_t *s, uint32_t n, int flags)
{
	return splice__json_check_to(out, s, n, flags);
}

/* splice_json_valid is splice_json_check with strict UTF-8: whether s[0..n)
 * is one well-formed JSON document. */
static inline int splice_json_valid(const uint8_t *s, uint32_t n)
{
	return splice_json_check(s, n, 0);
}

/* splice_json_compact copies the valid JSON text in[0..n) to out without the
 * whitespace between tokens (as Go's json.Compact does) and returns the
 * length written (<= n). out may be in. Strings are copied as written. */
static inline uint32_t splice_json_compact(uint8_t *out, const uint8_t *in, uint32_t n)
{
	uint32_t o = 0;
	for (uint32_t i = 0; i < n;) {
		uint8_t c = in[i];
		if (c == '"') {
			uint32_t e = splice__json_skip_string(in, n, i);
			__builtin_memmove(out + o, in + i, e - i);
			o += e - i;
			i = e;
			continue;
		}
		if (!splice__json_ws(c))
			out[o++] = c;
		i++;
	}
	return o;
}

/* ------------------------------------------------------------------------ */
/* Reading JSON the way encoding/json does                                   */

/* The most bytes splice_json_unquote writes for a token of n bytes. */
#define SPLICE_JSON_UNQUOTED_MAX(n) (3u * (uint64_t)(n))

/* splice_json_unquote decodes the JSON string token tok[0..n) into out (at
 * most cap bytes written, no NUL added) exactly as Go's encoding/json does,
 * and returns the decoded length, which may exceed cap. Every escape is
 * decoded, surrogate pairs included; a lone surrogate escape and each byte of
 * invalid UTF-8 become U+FFFD, so the result is always valid UTF-8. Returns
 * -1 when the token is not a string (a control character, a bad escape). */
static inline int32_t splice_json_unquote(const uint8_t *tok, uint32_t n, void *dst, uint32_t cap)
{
	uint8_t *out = (uint8_t *)dst;
	if (n < 2 || tok[0] != '"' || tok[n - 1] != '"')
		return -1;
	uint32_t o = 0, end = n - 1;
	uint8_t tmp[4];
#define SPLICE__EMIT(p, k) do { \
		for (uint32_t j_ = 0; j_ < (k); j_++, o++) \
			if (o < cap) out[o] = (p)[j_]; \
	} while (0)
	for (uint32_t i = 1; i < end;) {
		uint32_t p = splice__json_plain(tok, end, i, 1);
		if (p > i) {
			/* A run of plain ASCII, copied as is. */
			if (o < cap)
				__builtin_memcpy(out + o, tok + i, p - i < cap - o ? p - i : cap - o);
			o += p - i;
			i = p;
			if (i >= end)
				break;
		}
		uint8_t c = tok[i];
		if (c == '\\') {
			if (i + 1 >= end)
				return -1;
			uint8_t e = tok[i + 1];
			uint8_t one;
			switch (e) {
			case '"': one = '"'; break;
			case '\\': one = '\\'; break;
			case '/': one = '/'; break;
			case 'b': one = '\b'; break;
			case 'f': one = '\f'; break;
			case 'n': one = '\n'; break;
			case 'r': one = '\r'; break;
			case 't': one = '\t'; break;
			case 'u': {
				uint32_t u = 0;
				if (i + 5 >= end)
					return -1;
				for (int k = 2; k <= 5; k++) {
					int h = splice__hex(tok[i + k]);
					if (h < 0)
						return -1;
					u = u << 4 | (uint32_t)h;
				}
				i += 6;
				if (u >= 0xD800 && u <= 0xDFFF) {
					uint32_t lo = 0;
					int pair = u < 0xDC00 && i + 5 < end && tok[i] == '\\' && tok[i + 1] == 'u';
					for (int k = 2; pair && k <= 5; k++) {
						int h = splice__hex(tok[i + k]);
						if (h < 0)
							pair = 0;
						else
							lo = lo << 4 | (uint32_t)h;
					}
					if (pair && lo >= 0xDC00 && lo <= 0xDFFF) {
						u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
						i += 6;
					} else {
						u = 0xFFFD; /* a lone surrogate */
					}
				}
				uint32_t k = splice_utf8_encode(tmp, u);
				SPLICE__EMIT(tmp, k);
				continue;
			}
			default:
				return -1;
			}
			SPLICE__EMIT(&one, 1);
			i += 2;
			continue;
		}
		if (c < 0x20 || c == '"')
			return -1;
		if (c < 0x80) {
			SPLICE__EMIT(&c, 1);
			i++;
			continue;
		}
		uint32_t r, k = splice_utf8_decode(tok + i, end - i, &r);
		if (k == 1) {
			static const uint8_t fffd[3] = {0xEF, 0xBF, 0xBD};
			SPLICE__EMIT(fffd, 3);
		} else {
			SPLICE__EMIT(tok + i, k);
		}
		i += k;
	}
#undef SPLICE__EMIT
	return (int32_t)o;
}

/* splice_json_unquote_alloc decodes the string token tok[0..n) into the arena
 * (NUL-terminated; *len excludes the NUL). NULL when it is not a string
 * token, or out of memory. */
static inline uint8_t *splice_json_unquote_alloc(const uint8_t *tok, uint32_t n, uint32_t *len)
{
	uint64_t max = SPLICE_JSON_UNQUOTED_MAX(n);
	if (max >= 0xFFFFFFF0u)
		return NULL;
	uint8_t *out = (uint8_t *)splice_alloc((uint32_t)max + 1);
	if (out == NULL)
		return NULL;
	int32_t k = splice_json_unquote(tok, n, out, (uint32_t)max);
	if (k < 0)
		return NULL;
	out[k] = 0;
	*len = (uint32_t)k;
	return out;
}

/* splice_json_key_equal reports whether the string token tok[0..n) (a key,
 * escapes and all) decodes to exactly `name`. */
static inline int splice_json_key_equal(const uint8_t *tok, uint32_t n, const char *name)
{
	uint32_t m = splice_strlen(name);
	if (n == m + 2 && tok[0] == '"' && __builtin_memcmp(tok + 1, name, m) == 0)
		return 1; /* as written (a backslash in name would not match it) */
	int plain = 1;
	for (uint32_t i = 1; i + 1 < n; i++)
		if (tok[i] == '\\' || tok[i] >= 0x80)
			plain = 0;
	if (plain)
		return 0;
	uint8_t buf[256];
	if (m > sizeof buf)
		return 0;
	int32_t k = splice_json_unquote(tok, n, buf, sizeof buf);
	return k == (int32_t)m && __builtin_memcmp(buf, name, m) == 0;
}

/* An iterator over the members of an object or the elements of an array. */
typedef struct {
	const uint8_t *doc;
	uint32_t len, pos;
	int first;
} splice_json_iter;

/* splice_json_iter_start starts iterating the object (open '{') or array
 * (open '[') value v[0..n); returns 0 when v is neither. Like the other
 * scanners it assumes valid JSON and never reads past n. */
static inline int splice_json_iter_start(splice_json_iter *it, const uint8_t *v, uint32_t n, uint8_t open)
{
	uint32_t i = 0;
	while (i < n && splice__json_ws(v[i]))
		i++;
	if (i >= n || v[i] != open)
		return 0;
	it->doc = v;
	it->len = n;
	it->pos = i + 1;
	it->first = 1;
	return 1;
}

/* Position of the next item, or 0 at the end ('}' or ']', or garbage). */
static inline uint32_t splice__json_iter_item(splice_json_iter *it)
{
	const uint8_t *s = it->doc;
	uint32_t i = it->pos, n = it->len;
	while (i < n && splice__json_ws(s[i]))
		i++;
	if (!it->first) {
		if (i >= n || s[i] != ',')
			return 0;
		i++;
		while (i < n && splice__json_ws(s[i]))
			i++;
	}
	it->first = 0;
	if (i >= n || s[i] == '}' || s[i] == ']')
		return 0;
	return i;
}

/* splice_json_iter_member gets the next member of an object: *key is its
 * key's string token (quotes and escapes as written; compare it with
 * splice_json_key_equal), *val its raw value. Returns 0 at the end. */
static inline int splice_json_iter_member(splice_json_iter *it, const uint8_t **key, uint32_t *klen,
					  const uint8_t **val, uint32_t *vlen)
{
	const uint8_t *s = it->doc;
	uint32_t n = it->len, i = splice__json_iter_item(it);
	if (i == 0 || s[i] != '"')
		return 0;
	uint32_t ke = splice__json_skip_string(s, n, i);
	*key = s + i;
	*klen = ke - i;
	i = ke;
	while (i < n && splice__json_ws(s[i]))
		i++;
	if (i >= n || s[i] != ':')
		return 0;
	i++;
	while (i < n && splice__json_ws(s[i]))
		i++;
	uint32_t ve = splice__json_skip_value(s, n, i);
	*val = s + i;
	*vlen = ve - i;
	it->pos = ve;
	return 1;
}

/* splice_json_iter_element gets the next element of an array (its raw
 * value); returns 0 at the end. */
static inline int splice_json_iter_element(splice_json_iter *it, const uint8_t **val, uint32_t *vlen)
{
	uint32_t i = splice__json_iter_item(it);
	if (i == 0)
		return 0;
	uint32_t ve = splice__json_skip_value(it->doc, it->len, i);
	*val = it->doc + i;
	*vlen = ve - i;
	it->pos = ve;
	return 1;
}

/* splice_json_member finds member `key` of the object obj[0..n) the way
 * encoding/json decodes an object into a Go map: keys are compared after
 * decoding their escapes, and of duplicate keys the last one wins. Sets *val
 * and *vlen to the raw value and returns 1, or returns 0 (no such key, or obj
 * is not an object). Compare splice_json_field: first match, keys as
 * written, cheaper. */
static inline int splice_json_member(const uint8_t *obj, uint32_t n, const char *key,
				     const uint8_t **val, uint32_t *vlen)
{
	splice_json_iter it;
	const uint8_t *k, *v;
	uint32_t kn, vn;
	int found = 0;
	if (!splice_json_iter_start(&it, obj, n, '{'))
		return 0;
	while (splice_json_iter_member(&it, &k, &kn, &v, &vn)) {
		if (splice_json_key_equal(k, kn, key)) {
			*val = v;
			*vlen = vn;
			found = 1;
		}
	}
	return found;
}

/* splice_json_members finds several members of the object obj[0..n) in one
 * pass, each as splice_json_member finds it (keys compared after decoding
 * their escapes, the last of duplicate keys wins): for each keys[i] of the
 * count given, vals[i] and vlens[i] are set to its raw value, or vals[i] to
 * NULL when the object has no such member. Returns 0 when obj is not an
 * object (all absent), else 1. One pass instead of one per key: a member
 * lookup has to skip every value of the object, nested ones included. */
static inline int splice_json_members(const uint8_t *obj, uint32_t n, const char *const *keys, uint32_t count,
				      const uint8_t **vals, uint32_t *vlens)
{
	splice_json_iter it;
	const uint8_t *k, *v;
	uint32_t kn, vn;
	for (uint32_t i = 0; i < count; i++) {
		vals[i] = NULL;
		vlens[i] = 0;
	}
	if (!splice_json_iter_start(&it, obj, n, '{'))
		return 0;
	while (splice_json_iter_member(&it, &k, &kn, &v, &vn)) {
		for (uint32_t i = 0; i < count; i++) {
			if (splice_json_key_equal(k, kn, keys[i])) {
				vals[i] = v;
				vlens[i] = vn;
			}
		}
	}
	return 1;
}

/* splice_json_is_null reports whether the raw value v[0..n) is null. */
static inline int splice_json_is_null(const uint8_t *v, uint32_t n)
{
	return n == 4 && __builtin_memcmp(v, "null", 4) == 0;
}

/* ------------------------------------------------------------------------ */
/* HTTP helpers                                                              */

static inline uint8_t splice__lower(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* splice_http_header finds header `name` in the headers object
 * headers[0..n) and decodes its value into out (at most cap bytes, no NUL).
 * The name matches exactly or else ignoring ASCII case (Go's http.Header and
 * the Go PDK's Values.Get do the same); a value may be a string (splice_http
 * responses) or an array of strings (webhook requests handed to a trigger,
 * {"Webhook-Id": ["msg_1"]}), whose items are joined with ", ". Returns the
 * value's length (may exceed cap), or -1 when there is no such header. */
static inline int32_t splice_http_header(const uint8_t *headers, uint32_t n, const char *name,
					 void *dst, uint32_t cap)
{
	char *out = (char *)dst;
	uint32_t m = splice_strlen(name);
	splice_json_iter it;
	const uint8_t *k, *v, *found = NULL;
	uint32_t kn, vn, fn = 0;
	int exact = 0;
	if (!splice_json_iter_start(&it, headers, n, '{'))
		return -1;
	while (splice_json_iter_member(&it, &k, &kn, &v, &vn)) {
		int same = splice_json_key_equal(k, kn, name);
		if (!same && (exact || kn != m + 2))
			continue;
		if (!same) {
			uint32_t j = 0;
			while (j < m && splice__lower(k[1 + j]) == splice__lower((uint8_t)name[j]))
				j++;
			if (j < m)
				continue;
		}
		found = v;
		fn = vn;
		exact |= same;
	}
	if (found == NULL)
		return -1;
	if (splice_json_is_null(found, fn))
		return 0;
	if (found[0] == '"') {
		int32_t r = splice_json_unquote(found, fn, out, cap);
		return r < 0 ? 0 : r;
	}
	if (found[0] != '[') {
		/* Any other value as its JSON text. */
		for (uint32_t j = 0; j < fn && j < cap; j++)
			out[j] = (char)found[j];
		return (int32_t)fn;
	}
	uint32_t o = 0;
	int first = 1;
	splice_json_iter_start(&it, found, fn, '[');
	while (splice_json_iter_element(&it, &v, &vn)) {
		if (!first) {
			if (o < cap) out[o] = ',';
			if (o + 1 < cap) out[o + 1] = ' ';
			o += 2;
		}
		first = 0;
		if (v[0] == '"') {
			int32_t r = splice_json_unquote(v, vn, o < cap ? out + o : out, o < cap ? cap - o : 0);
			if (r > 0)
				o += (uint32_t)r;
		}
	}
	return (int32_t)o;
}

/* splice_base64_encode writes in[0..n) in standard padded base64 to out
 * (room for 4 * ((n + 2) / 3) bytes) and returns the length written. */
static inline uint32_t splice_base64_encode(uint8_t *out, const void *src, uint32_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *in = (const uint8_t *)src;
	uint32_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = (uint8_t)tab[v >> 18];
		out[o++] = (uint8_t)tab[v >> 12 & 63];
		out[o++] = (uint8_t)tab[v >> 6 & 63];
		out[o++] = (uint8_t)tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = (uint8_t)tab[v >> 18];
		out[o++] = (uint8_t)tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? (uint8_t)tab[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	return o;
}

static inline int splice__b64(uint8_t c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* splice_base64_decode decodes standard padded base64 in[0..n) into out
 * (room for 3 * (n / 4) bytes; out may be in) and returns the decoded
 * length, or -1 when the text is not padded base64. Like Go's
 * base64.StdEncoding, it skips \r and \n and ignores non-zero bits in the
 * last symbol before the padding. */
static inline int32_t splice_base64_decode(uint8_t *out, const void *src, uint32_t n)
{
	const uint8_t *in = (const uint8_t *)src;
	uint32_t o = 0, q = 0, acc = 0, i = 0;
	for (; i < n; i++) {
		uint8_t c = in[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=')
			break;
		int v = splice__b64(c);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (++q == 4) {
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			q = 0;
			acc = 0;
		}
	}
	if (i == n)
		return q == 0 ? (int32_t)o : -1;
	/* Padding: "xx==" or "xxx=", then nothing but line breaks. */
	if (q < 2)
		return -1;
	uint32_t pad = 4 - q;
	for (; i < n && pad; i++) {
		if (in[i] == '\r' || in[i] == '\n')
			continue;
		if (in[i] != '=')
			return -1;
		pad--;
	}
	if (pad)
		return -1;
	for (; i < n; i++)
		if (in[i] != '\r' && in[i] != '\n')
			return -1;
	if (q == 2) {
		out[o++] = (uint8_t)(acc >> 4);
	} else {
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
	}
	return (int32_t)o;
}

/* The results of splice_http. */
enum {
	SPLICE_HTTP_OK = 0,
	SPLICE_HTTP_UNAVAILABLE = -1, /* the host has no HTTP broker for this call */
	SPLICE_HTTP_NO_MEMORY = -2,   /* the response does not fit in guest memory */
};

/* splice_http sends the request document req[0..n) through the host's HTTP
 * broker (the splice_http host function, pdk/ABI.md "Outbound HTTP"):
 *
 *   {"method","url","headers":{name: value},"body" or "bodyBase64","auth",
 *    "authRefresh","timeoutMs"}
 *
 * and sets *res and *res_len to the response document, in the arena and
 * NUL-terminated: {"status","headers","body" or "bodyBase64","url",
 * "retryAfterMs"} when the server answered (any status: a 4xx or 5xx is a
 * response), {"error":{"kind","message","retryAfterMs"}} when nothing came
 * back or the host refused the request. Returns SPLICE_HTTP_OK, or
 * SPLICE_HTTP_UNAVAILABLE when the host has no broker for this call (Go's
 * PDK then reports kind "unavailable"), or SPLICE_HTTP_NO_MEMORY. Write the
 * request's strings with splice_json_quote (a JSON body's strings with
 * SPLICE_JSON_ESCAPE_BRACE, so user text is never taken for a
 * {{credential.x}} placeholder); read the
 * response with splice_json_member, splice_json_unquote and
 * splice_http_header. Both Extism blocks are freed. */
static inline int32_t splice_http(const void *req, uint32_t n, uint8_t **res, uint32_t *res_len)
{
	extism_ptr off = splice__to_block(req, n);
	extism_ptr r = splice_http_raw(off);
	if (off != 0)
		extism_free(off);
	*res = NULL;
	*res_len = 0;
	if (r == 0)
		return SPLICE_HTTP_UNAVAILABLE;
	/* A result that is not a block (length 0) reads as an empty document
	 * and is not freed, as the Go PDK does. */
	uint32_t m = (uint32_t)extism_length(r);
	uint8_t *buf = (uint8_t *)splice_alloc(m + 1);
	if (buf == NULL) {
		if (m != 0)
			extism_free(r);
		return SPLICE_HTTP_NO_MEMORY;
	}
	if (m != 0) {
		splice__from_block(r, buf, m);
		extism_free(r);
	}
	buf[m] = 0;
	*res = buf;
	*res_len = m;
	return SPLICE_HTTP_OK;
}

/* ------------------------------------------------------------------------ */
/* The C library functions clang may emit calls to (one TU only).            */

#ifdef SPLICE_IMPLEMENTATION

/* no_builtin keeps clang from turning these very loops back into calls. */
__attribute__((no_builtin("memcpy")))
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	uint8_t *d = (uint8_t *)dst;
	const uint8_t *s = (const uint8_t *)src;
	for (; n >= 8; n -= 8, d += 8, s += 8) {
		uint64_t v;
		__builtin_memcpy_inline(&v, s, 8);
		__builtin_memcpy_inline(d, &v, 8);
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

__attribute__((no_builtin("memmove")))
void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = (uint8_t *)dst;
	const uint8_t *s = (const uint8_t *)src;
	if (d <= s || d >= s + n) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

__attribute__((no_builtin("memset")))
void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = (uint8_t *)dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

__attribute__((no_builtin("memcmp")))
int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

#endif /* SPLICE_IMPLEMENTATION */

#endif /* SPLICE_H */
