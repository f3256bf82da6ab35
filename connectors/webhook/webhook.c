/*
 * webhook — a Splice connector with one webhook trigger, `json`, written in C
 * against pdk/c/splice.h. It does what the Go connector echo's `received`
 * does, at a fraction of the cost per call (see README.md):
 *
 *   trigger {"op":"receive","key":"json","request":{"headers":{...},"body":"..."}}
 *     -> {"events":[{"id":<the webhook-id header, else the hex SHA-256 of
 *         the body>,"payload":<the body as JSON, else as a string; null
 *         when empty>}]}
 *   trigger {"op":"subscribe"|"unsubscribe",...} -> {"events":[]}
 *
 * SHA-256 (FIPS 180-4) is implemented here, freestanding; the host's tests
 * check it against the FIPS vectors and crypto/sha256.
 */
#define SPLICE_IMPLEMENTATION
#include "splice.h"

static const char manifest[] =
	"{\"appKey\":\"webhook\",\"name\":\"Webhook\",\"version\":\"1.0.0\","
	"\"description\":\"Turns each webhook request into an event: the body parsed as JSON (or as a string "
	"when it is not JSON), identified by the webhook-id header or else the SHA-256 of the body.\","
	"\"auth\":{\"type\":\"none\"},\"hosts\":[],"
	"\"triggers\":[{\"key\":\"json\",\"name\":\"JSON webhook\","
	"\"description\":\"One event per webhook request; the payload is the request body parsed as JSON "
	"(or the body as a string when it is not JSON, null when it is empty), the id is the webhook-id "
	"header or else the hex SHA-256 of the body.\","
	"\"kind\":\"webhook\","
	"\"inputSchema\":{\"type\":\"object\",\"additionalProperties\":false},"
	"\"payloadSchema\":{}}],"
	"\"actions\":[],\"transforms\":[]}";

SPLICE_EXPORT("describe") int32_t describe(void)
{
	splice_output(manifest, sizeof manifest - 1);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4)                                                      */

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

/* sha256_block runs the compression function on one 64-byte block, its 64
 * rounds unrolled (eight at a time, the eight working variables renamed
 * instead of moved) and the message schedule kept in a ring of 16 words:
 * with constant indexes, the compiler keeps it all in locals. */
#define SHA_BSIG0(x) (ror(x, 2) ^ ror(x, 13) ^ ror(x, 22))
#define SHA_BSIG1(x) (ror(x, 6) ^ ror(x, 11) ^ ror(x, 25))
#define SHA_SSIG0(x) (ror(x, 7) ^ ror(x, 18) ^ (x) >> 3)
#define SHA_SSIG1(x) (ror(x, 17) ^ ror(x, 19) ^ (x) >> 10)
#define SHA_W(i) ((i) < 16 ? w[(i) & 15] \
	: (w[(i) & 15] += SHA_SSIG0(w[((i) - 15) & 15]) + w[((i) - 7) & 15] + SHA_SSIG1(w[((i) - 2) & 15])))
#define SHA_R(a, b, c, d, e, f, g, h, i) do { \
		uint32_t t1 = h + SHA_BSIG1(e) + (g ^ (e & (f ^ g))) + sha256_k[i] + SHA_W(i); \
		d += t1; \
		h = t1 + SHA_BSIG0(a) + ((a & b) | (c & (a | b))); \
	} while (0)
#define SHA_R8(i) do { \
		SHA_R(a, b, c, d, e, f, g, h, (i)); \
		SHA_R(h, a, b, c, d, e, f, g, (i) + 1); \
		SHA_R(g, h, a, b, c, d, e, f, (i) + 2); \
		SHA_R(f, g, h, a, b, c, d, e, (i) + 3); \
		SHA_R(e, f, g, h, a, b, c, d, (i) + 4); \
		SHA_R(d, e, f, g, h, a, b, c, (i) + 5); \
		SHA_R(c, d, e, f, g, h, a, b, (i) + 6); \
		SHA_R(b, c, d, e, f, g, h, a, (i) + 7); \
	} while (0)

static void sha256_block(uint32_t hs[8], const uint8_t *p)
{
	uint32_t w[16];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	uint32_t a = hs[0], b = hs[1], c = hs[2], d = hs[3], e = hs[4], f = hs[5], g = hs[6], h = hs[7];
	SHA_R8(0);
	SHA_R8(8);
	SHA_R8(16);
	SHA_R8(24);
	SHA_R8(32);
	SHA_R8(40);
	SHA_R8(48);
	SHA_R8(56);
	hs[0] += a;
	hs[1] += b;
	hs[2] += c;
	hs[3] += d;
	hs[4] += e;
	hs[5] += f;
	hs[6] += g;
	hs[7] += h;
}

/* sha256 writes the digest of data[0..n) to out. */
static void sha256(const uint8_t *data, uint32_t n, uint8_t out[32])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	uint32_t full = n & ~63u;
	for (uint32_t i = 0; i < full; i += 64)
		sha256_block(h, data + i);
	/* The tail, 0x80, zeros and the length in bits: one or two blocks. */
	uint8_t tail[128];
	uint32_t r = n - full;
	__builtin_memset(tail, 0, sizeof tail);
	splice_copy(tail, data + full, r);
	tail[r] = 0x80;
	uint32_t blocks = r < 56 ? 1 : 2;
	uint64_t bits = (uint64_t)n * 8;
	for (int i = 0; i < 8; i++)
		tail[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (uint32_t b = 0; b < blocks; b++)
		sha256_block(h, tail + 64 * b);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

/* ------------------------------------------------------------------------ */
/* The trigger                                                               */

/* fail sets the error "webhook: <what><quoted s>[<rest>]" and returns 1. */
static int32_t fail(const char *what, const uint8_t *s, uint32_t n, const char *rest)
{
	splice_buf b;
	splice_buf_init(&b, 128);
	splice_buf_str(&b, "webhook: ");
	splice_buf_str(&b, what);
	splice_buf_json_string(&b, s, n, 0);
	splice_buf_str(&b, rest);
	if (b.oom)
		return splice_error("webhook: out of memory");
	return splice_error_n(b.p, b.n);
}

static int same(const uint8_t *s, uint32_t n, const char *lit)
{
	uint32_t m = splice_strlen(lit);
	return n == m && __builtin_memcmp(s, lit, m) == 0;
}

/* Decoded string members of the input: op and key. */
typedef struct {
	uint8_t *p;
	uint32_t n;
} str;

/* string_member decodes a string-or-null member (Go PDK: stringMember). */
static int string_member(const uint8_t *v, uint32_t vn, str *out)
{
	if (splice_json_is_null(v, vn)) {
		out->p = (uint8_t *)"";
		out->n = 0;
		return 1;
	}
	if (v[0] != '"')
		return 0;
	out->p = splice_json_unquote_alloc(v, vn, &out->n);
	return out->p != NULL;
}

/* closed reports whether an iteration over an object's members ended at its
 * closing brace, with nothing but whitespace after it. */
static int closed(const splice_json_iter *it)
{
	uint32_t i = it->pos;
	while (i < it->len && splice__json_ws(it->doc[i]))
		i++;
	if (i >= it->len || it->doc[i] != '}')
		return 0;
	for (i++; i < it->len; i++)
		if (!splice__json_ws(it->doc[i]))
			return 0;
	return 1;
}

SPLICE_EXPORT("trigger") int32_t trigger(void)
{
	uint32_t n;
	splice_reset();
	const uint8_t *doc = splice_input_alloc(&n);
	if (doc == NULL)
		return splice_error("webhook: out of memory");
	/* The host always sends valid JSON, so the input gets no checking pass
	 * of its own (a sixth of a call's time with a 1 KiB body): the scanners
	 * never read past it whatever it holds, what is used is checked where it
	 * is used (the strings as they are decoded), and an input that is not
	 * one object with nothing after it is refused. Go's PDK accepts any
	 * bytes in strings (and decodes them as U+FFFD); so does this guest. */
	splice_json_iter it;
	if (!splice_json_iter_start(&it, doc, n, '{'))
		return splice_error("webhook: trigger: the input is not a JSON object");

	str op = {(uint8_t *)"", 0}, key = {(uint8_t *)"", 0};
	const uint8_t *req = NULL, *k, *v;
	uint32_t req_n = 0, kn, vn;
	while (splice_json_iter_member(&it, &k, &kn, &v, &vn)) {
		if (splice_json_key_equal(k, kn, "op")) {
			if (!string_member(v, vn, &op))
				return splice_error("webhook: trigger: op must be a string");
		} else if (splice_json_key_equal(k, kn, "key")) {
			if (!string_member(v, vn, &key))
				return splice_error("webhook: trigger: key must be a string");
		} else if (splice_json_key_equal(k, kn, "request")) {
			req = v;
			req_n = vn;
		}
	}
	if (!closed(&it))
		return splice_error("webhook: trigger: the input is not a JSON object");
	if (!same(key.p, key.n, "json"))
		return fail("connector webhook has no trigger ", key.p, key.n, "");
	if (same(op.p, op.n, "subscribe") || same(op.p, op.n, "unsubscribe")) {
		splice_output_str("{\"events\":[]}");
		return 0;
	}
	if (!same(op.p, op.n, "receive"))
		return fail("json is a webhook trigger and does not support op ", op.p, op.n, "");

	/* The body: a JSON string (what the host sends), or any other JSON value
	 * as its text; absent or null is empty. */
	const uint8_t *body = (const uint8_t *)"";
	uint32_t body_n = 0;
	const uint8_t *headers = NULL;
	uint32_t headers_n = 0;
	if (req != NULL && req[0] == '{') {
		/* One pass over the request's members; of duplicates the last wins,
		 * as encoding/json decodes them. */
		const uint8_t *b = NULL;
		uint32_t bn = 0;
		splice_json_iter_start(&it, req, req_n, '{');
		while (splice_json_iter_member(&it, &k, &kn, &v, &vn)) {
			if (splice_json_key_equal(k, kn, "body")) {
				b = v;
				bn = vn;
			} else if (splice_json_key_equal(k, kn, "headers")) {
				headers = v;
				headers_n = vn;
			}
		}
		if (b != NULL && !splice_json_is_null(b, bn)) {
			if (b[0] == '"') {
				/* Decoded in one pass: escapes only shrink a string, so the
				 * token's length is room enough unless invalid UTF-8 (each
				 * bad byte becomes 3 of U+FFFD) makes it longer. */
				uint8_t *dst = (uint8_t *)splice_alloc(bn);
				int32_t len = dst == NULL ? 0 : splice_json_unquote(b, bn, dst, bn);
				if (len > (int32_t)bn) {
					dst = (uint8_t *)splice_alloc((uint32_t)len);
					if (dst != NULL)
						splice_json_unquote(b, bn, dst, (uint32_t)len);
				}
				if (dst == NULL || len < 0)
					return splice_error(len < 0 ? "webhook: trigger: the request body is not a string"
								    : "webhook: out of memory");
				body = dst;
				body_n = (uint32_t)len;
			} else {
				body = b;
				body_n = bn;
			}
		}
	}

	/* The id: the webhook-id header (any case), or the body's SHA-256. */
	uint8_t *id = NULL;
	int32_t id_n = headers ? splice_http_header(headers, headers_n, "webhook-id", NULL, 0) : -1;
	if (id_n > 0) {
		id = (uint8_t *)splice_alloc((uint32_t)id_n);
		if (id == NULL)
			return splice_error("webhook: out of memory");
		splice_http_header(headers, headers_n, "webhook-id", id, (uint32_t)id_n);
	} else {
		static const char hex[] = "0123456789abcdef";
		uint8_t sum[32];
		id = (uint8_t *)splice_alloc(64);
		if (id == NULL)
			return splice_error("webhook: out of memory");
		sha256(body, body_n, sum);
		for (int i = 0; i < 32; i++) {
			id[2 * i] = (uint8_t)hex[sum[i] >> 4];
			id[2 * i + 1] = (uint8_t)hex[sum[i] & 15];
		}
		id_n = 64;
	}

	splice_buf out;
	splice_buf_init(&out, 64 + (uint32_t)id_n + body_n + body_n / 8);
	splice_buf_str(&out, "{\"events\":[{\"id\":");
	splice_buf_json_string(&out, id, (uint32_t)id_n, 0);
	splice_buf_str(&out, ",\"payload\":");
	if (body_n == 0) {
		splice_buf_str(&out, "null");
	} else if (splice_buf_reserve(&out, body_n)) {
		/* Strict: what goes out raw is well-formed JSON, whitespace dropped
		 * (as Go's encoder does with a json.RawMessage), checked and
		 * compacted in one pass; anything else goes out as a string. */
		int64_t k = splice_json_check_compact(out.p + out.n, body, body_n, 0);
		if (k >= 0)
			out.n += (uint32_t)k;
		else
			splice_buf_json_string(&out, body, body_n, 0);
	}
	splice_buf_str(&out, "}]}");
	if (out.oom)
		return splice_error("webhook: out of memory");
	splice_output(out.p, out.n);
	return 0;
}
