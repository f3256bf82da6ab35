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
 *   clang --target=wasm32 -O2 -nostdlib -ffreestanding -Wl,--no-entry \
 *         -Wl,--strip-all -I pdk/c -o out.wasm connector.c
 */
#ifndef SPLICE_H
#define SPLICE_H

#include <stddef.h>
#include <stdint.h>

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

/* Index just past the string token starting at s[i] == '"'. */
static inline uint32_t splice__json_skip_string(const uint8_t *s, uint32_t len, uint32_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return len;
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
